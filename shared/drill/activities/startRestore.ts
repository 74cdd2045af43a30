import { fromRestError } from "../../errors/fromRestError";
import { LifecycleError } from "../../errors/lifecycleError";
import { KeyVaultBackupClient } from "../../hsm/keyVaultBackupClient";
import type { DrillDeps } from "./deps";
import { assertFolderUrl } from "./preRestoreCheck";
import { requireDrillSafe } from "./checkSafety";

export interface StartRestoreInput {
  primary: string;
  target: string;
  folderUrl: string;
}

export interface StartRestoreOutput {
  jobId: string;
  /** The HSM's own job start (RTO starts here); may be absent on the first answer, then read it from the status. */
  startTime?: string;
}

/**
 * Activity `startRestore`: the destructive step. Replaces every key and role assignment of the DR HSM with the
 * backup's, so both interlocks (configuration and the HSMs' identities) run again here. The HSM refuses it (400) unless DR completed a full
 * backup of itself within 30 minutes: run `startDrillTargetBackup` first. Follow with `getRestoreStatus`.
 */
export async function startRestore(input: StartRestoreInput, deps: DrillDeps): Promise<StartRestoreOutput> {
  // Destructive: both interlocks again (configuration and the HSMs' reported identities), right before the write.
  const { targetUrl } = await requireDrillSafe({ primary: input.primary, target: input.target }, deps);
  assertFolderUrl(input.folderUrl, deps.backupContainerUrl);
  try {
    const client = new KeyVaultBackupClient(targetUrl, deps.credential, deps.adminOptions);
    const sas = await deps.storageSas?.("rl");
    const poller = sas === undefined ? await client.beginRestore(input.folderUrl) : await client.beginRestore(input.folderUrl, sas);
    const state = poller.getOperationState();
    if (state.jobId === undefined) throw new LifecycleError("Unexpected", `The DR HSM ${targetUrl} accepted the restore but returned no job id.`);
    deps.log?.(`drill ${input.primary} → ${input.target}: restore started (job ${state.jobId}).`);
    const out: StartRestoreOutput = { jobId: state.jobId };
    if (state.startTime !== undefined) out.startTime = state.startTime.toISOString();
    return out;
  } catch (e) {
    throw fromRestError(e, { service: "managedHsm", operation: "full restore into the DR HSM", resource: targetUrl, requiredRole: "HSM Lifecycle Drill DR", requiredScope: "/" });
  }
}
