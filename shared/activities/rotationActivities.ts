import { activityNames } from "../names";
import type { RotationDeps } from "./rotationDeps";
import { disableKeyVersion } from "./rotationDisableKeyVersion";
import { ensureRotationPolicy } from "./rotationEnsurePolicy";
import { listDueKeys } from "./rotationListDueKeys";
import { listKeyVersions } from "./rotationListKeyVersions";
import { publishNotices } from "./rotationPublishNotices";
import { rotateKeyVersion } from "./rotationRotateKeyVersion";
import { setVersionExpiry } from "./rotationSetVersionExpiry";
import { verifyKeyVersion } from "./rotationVerifyKeyVersion";

/**
 * The rotation activities under their registered names (shared/names.ts), for `functions/` and the runner:
 * `df.app.activity(name, { handler: (input) => handler(input, deps) })`. `recordForeignVersion` and
 * `retireKeyVersions` (in their own files) are registered by name in functions/rotation.ts.
 */
export const rotationActivityHandlers = {
  [activityNames.listDueKeys]: listDueKeys,
  [activityNames.publishNotices]: publishNotices,
  [activityNames.ensureRotationPolicy]: ensureRotationPolicy,
  [activityNames.rotateKeyVersion]: rotateKeyVersion,
  [activityNames.verifyKeyVersion]: verifyKeyVersion,
  [activityNames.setVersionExpiry]: setVersionExpiry,
  [activityNames.listKeyVersions]: listKeyVersions,
  [activityNames.disableKeyVersion]: disableKeyVersion,
} as const satisfies Record<string, (input: never, deps: RotationDeps) => Promise<unknown>>;
