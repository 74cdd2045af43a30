import { activityNames } from "../../names";
import type { RotationDeps } from "./deps";
import { disableKeyVersion } from "./disableKeyVersion";
import { ensureRotationPolicy } from "./ensurePolicy";
import { listDueKeys } from "./listDueKeys";
import { listKeyVersions } from "./listKeyVersions";
import { publishNotices } from "./publishNotices";
import { reserveCreateSlot } from "./reserveCreateSlot";
import { rotateKeyVersion } from "./rotateKeyVersion";
import { setVersionExpiry } from "./setVersionExpiry";
import { verifyKeyVersion } from "./verifyKeyVersion";

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
  [activityNames.reserveCreateSlot]: reserveCreateSlot,
  [activityNames.verifyKeyVersion]: verifyKeyVersion,
  [activityNames.setVersionExpiry]: setVersionExpiry,
  [activityNames.listKeyVersions]: listKeyVersions,
  [activityNames.disableKeyVersion]: disableKeyVersion,
} as const satisfies Record<string, (input: never, deps: RotationDeps) => Promise<unknown>>;
