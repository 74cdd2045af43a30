import { isRestErrorLike, fromRestError } from "../../errors/fromRestError";
import { LifecycleError } from "../../errors/lifecycleError";
import { runningJobFromConflict } from "../../backup/runningJobFromConflict";
import { KeyVaultBackupClient } from "../../hsm/keyVaultBackupClient";
import type { DrillDeps } from "./deps";
import { guardDrillTarget } from "./targetGuard";

export interface StartDrillTargetBackupInput {
  primary: string;
  target: string;
}

export interface StartDrillTargetBackupOutput {
  jobId: string;
  /** True when a backup job already running on the target was adopted (a replayed activity, a 409). */
  adopted: boolean;
}

/**
 * Activity `startDrillTargetBackup`: a full backup of the DR HSM itself, before anything is restored into it.
 * Managed HSM refuses a restore unless the target completed a full backup of itself within 30 minutes, and the
 * backup is also DR's way back. Writes only to storage (never to the HSM's keys). Follow it with
 * `getDrillTargetBackupStatus`.
 */
export async function startDrillTargetBackup(input: StartDrillTargetBackupInput, deps: DrillDeps): Promise<StartDrillTargetBackupOutput> {
  const { targetUrl } = guardDrillTarget(deps, input);
  const client = new KeyVaultBackupClient(targetUrl, deps.credential, deps.adminOptions);
  try {
    const sas = await deps.storageSas?.("crdw");
    const poller = sas === undefined ? await client.beginBackup(deps.backupContainerUrl) : await client.beginBackup(deps.backupContainerUrl, sas);
    const jobId = poller.getOperationState().jobId;
    if (jobId === undefined) throw new LifecycleError("Unexpected", `The DR HSM ${targetUrl} accepted the backup but returned no job id.`);
    deps.log?.(`drill ${input.primary} → ${input.target}: DR self-backup started (job ${jobId}).`);
    return { jobId, adopted: false };
  } catch (e) {
    if (isRestErrorLike(e) && e.statusCode === 409) {
      const headers = (e as { response?: { headers?: { toJSON?: () => Record<string, string> } } }).response?.headers?.toJSON?.() ?? {};
      const running = runningJobFromConflict(e.message, headers);
      if (running.kind === "backup") return { jobId: running.jobId, adopted: true };
    }
    throw fromRestError(e, { service: "managedHsm", operation: "back up the DR HSM before the restore", resource: targetUrl, requiredRole: "HSM Lifecycle Drill DR", requiredScope: "/" });
  }
}
