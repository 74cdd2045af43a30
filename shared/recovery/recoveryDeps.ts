/**
 * What the key recovery activities need, built once per worker as the recovery identity
 * (`credentialFor("recovery", settings)`): key and admin clients for the primaries, the authenticated backup
 * manifests (the drill's read seam, same trust checks), the audit container and the lifecycle publisher.
 */
import type { ContainerClient } from "@azure/storage-blob";
import { appSettings } from "../app/appSettings";
import type { DrillDeps } from "../drill/activities/deps";
import { createDrillDeps } from "../drill/activities/depsFromSettings";
import type { LifecyclePublisher } from "../events/lifecyclePublisher";
import { credentialFor } from "../hsm/workloadCredential";
import type { RotationStarterClient } from "../rotation/activities/durableStatus";

export type RecoveryDeps = Pick<DrillDeps, "settings" | "credential" | "keyClients" | "adminOptions" | "backups" | "backupContainerUrl" | "storageSas" | "log"> & {
  audit?: ContainerClient;
  publisher?: LifecyclePublisher;
  now?: () => Date;
  /** The durable client, to hand a failed audit write to `auditRecordRetry` (set per invocation by the registration). */
  starter?: RotationStarterClient;
  logError?: (line: string) => void;
};

let built: RecoveryDeps | undefined;

export function recoveryWorkflowDeps(): RecoveryDeps {
  if (built !== undefined) return built;
  const settings = appSettings();
  built = createDrillDeps(settings, credentialFor("recovery", settings));
  return built;
}
