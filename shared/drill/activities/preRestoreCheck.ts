import { fromRestError } from "../../errors/fromRestError";
import { LifecycleError } from "../../errors/lifecycleError";
import { KeyVaultBackupClient } from "../../hsm/keyVaultBackupClient";
import { folderHsmName } from "../../backup/manifestTrust";
import type { DrillDeps } from "./deps";
import { guardDrillTarget } from "./targetGuard";

export interface PreRestoreCheckInput {
  primary: string;
  target: string;
  /** The backup folder to restore (from `findLatestVerifiedBackup`). */
  folderUrl: string;
}

/**
 * Activity `preRestoreCheck`: starts the HSM's pre-restore check of the folder against the DR HSM (same
 * security domain, storage readable, recent self-backup); it changes nothing. Poll it with `getRestoreStatus`;
 * a Failed check ends the drill before anything destructive (see `classifyRestoreFailure`).
 */
export async function preRestoreCheck(input: PreRestoreCheckInput, deps: DrillDeps): Promise<{ jobId: string }> {
  const { targetUrl } = guardDrillTarget(deps, input);
  assertFolderUrl(input.folderUrl, deps.backupContainerUrl);
  try {
    const client = new KeyVaultBackupClient(targetUrl, deps.credential, deps.adminOptions);
    const sas = await deps.storageSas?.("rl");
    const poller = sas === undefined ? await client.beginPreRestore(input.folderUrl) : await client.beginPreRestore(input.folderUrl, sas);
    const jobId = poller.getOperationState().jobId;
    if (jobId === undefined) throw new LifecycleError("Unexpected", `The DR HSM ${targetUrl} accepted the pre-restore check but returned no job id.`);
    return { jobId };
  } catch (e) {
    throw fromRestError(e, { service: "managedHsm", operation: "pre-restore check", resource: targetUrl, requiredRole: "HSM Lifecycle Drill DR", requiredScope: "/" });
  }
}

/**
 * A backup folder URL without a query string (a SAS must never travel through durable history), and exactly a
 * well-formed folder inside BACKUP_CONTAINER: the HSM is handed this URL together with the container's SAS, so
 * whatever the input says, the SAS can only go to our own container.
 */
export function assertFolderUrl(folderUrl: string, containerUrl: string): void {
  let u: URL;
  try {
    u = new URL(folderUrl);
  } catch {
    throw new LifecycleError("BadParameter", `"${folderUrl}" is not a backup folder URL. Fix: pass the folderUrl from the backup manifest.`);
  }
  if (u.search !== "" || u.username !== "" || u.password !== "" || !/\/[^/]+\/[^/]+$/.test(u.pathname)) {
    throw new LifecycleError("BadParameter", "The backup folder URL must be <container URL>/<folder> without a query string (no SAS in activity inputs).");
  }
  const container = containerUrl.split("?")[0]?.replace(/\/+$/, "") ?? "";
  const folder = folderUrl.startsWith(`${container}/`) ? folderUrl.slice(container.length + 1) : "";
  if (folderHsmName(folder) === undefined) {
    throw new LifecycleError("BadParameter", `The backup folder URL ${folderUrl} is not a mhsm-<hsm>-<timestamp> folder inside BACKUP_CONTAINER (${container}); nothing was sent to the HSM. Fix: restore only a backup the drill found in its own container.`);
  }
}
