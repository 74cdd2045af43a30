import { fromRestError } from "../../errors/fromRestError";
import type { BackupDeps } from "../backupDeps";
import { backupRoleContext, backupTarget, checkHsmInput } from "../backupTarget";

export interface PreBackupCheckInput {
  hsmName: string;
}

export interface PreBackupCheckOutput {
  /** The pre-backup job; poll it with getBackupStatus (it is served at /backup/{id}/pending). */
  jobId: string;
  containerUrl: string;
}

/**
 * Activity `preBackupCheck`: asks the HSM to check that a full backup into the container would work
 * (storage reachable, permissions, no job running), writing nothing. Returns at once with the job id; the
 * orchestration polls it with durable timers like a backup. A 403 names "HSM Lifecycle Backup" at "/".
 */
export async function preBackupCheck(input: PreBackupCheckInput, deps: BackupDeps): Promise<PreBackupCheckOutput> {
  const { hsmUrl } = checkHsmInput(input, deps, "preBackupCheck");
  const target = await backupTarget(deps);
  const client = deps.backupClient(hsmUrl);
  try {
    const poller =
      target.sas === undefined ? await client.beginPreBackup(target.containerUrl) : await client.beginPreBackup(target.containerUrl, target.sas);
    const jobId = poller.getOperationState().jobId;
    if (jobId === undefined) throw new Error("the HSM accepted the pre-backup but returned no jobId");
    return { jobId, containerUrl: target.containerUrl };
  } catch (e) {
    throw fromRestError(e, backupRoleContext("beginPreBackup", hsmUrl));
  }
}
