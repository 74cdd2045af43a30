import { isRestErrorLike, fromRestError } from "../../errors/fromRestError";
import { LifecycleError } from "../../errors/lifecycleError";
import type { BackupDeps } from "../backupDeps";
import { backupRoleContext, backupTarget, checkHsmInput } from "../backupTarget";
import { runningJobFromConflict } from "../runningJobFromConflict";

export interface StartBackupInput {
  hsmName: string;
}

export interface StartBackupOutput {
  jobId: string;
  /** true when a backup job was already running (409) and this run follows it instead of starting one. */
  adopted: boolean;
  /** Container URL without a query string (never the SAS). */
  containerUrl: string;
}

/**
 * Activity `startBackup`: starts a full HSM backup into the backup container through the HSM's managed
 * identity (or a short-lived `crdw` SAS when `BACKUP_AUTH=sas`) and returns the job id without waiting.
 * If the HSM answers 409 because a BACKUP job is already running, that job is adopted: the nightly run then
 * follows it rather than failing (a restart of the orchestration or a manual backup both end here).
 * A 409 for another kind of job (restore, pre-backup) is a `Conflict`.
 */
export async function startBackup(input: StartBackupInput, deps: BackupDeps): Promise<StartBackupOutput> {
  const { hsmUrl } = checkHsmInput(input, deps, "startBackup");
  const target = await backupTarget(deps);
  const client = deps.backupClient(hsmUrl);
  try {
    const poller = target.sas === undefined ? await client.beginBackup(target.containerUrl) : await client.beginBackup(target.containerUrl, target.sas);
    const jobId = poller.getOperationState().jobId;
    if (jobId === undefined) throw new Error("the HSM accepted the backup but returned no jobId");
    return { jobId, adopted: false, containerUrl: target.containerUrl };
  } catch (e) {
    if (isRestErrorLike(e) && e.statusCode === 409) {
      const headers = (e as { response?: { headers?: { toJSON?: () => Record<string, string> } } }).response?.headers?.toJSON?.() ?? {};
      const running = runningJobFromConflict(e.message, headers);
      if (running.kind === "backup") return { jobId: running.jobId, adopted: true, containerUrl: target.containerUrl };
      const what = running.kind === "other" ? running.description : "an admin job whose id the HSM did not name";
      throw new LifecycleError(
        "Conflict",
        `startBackup on ${hsmUrl} was refused (409): ${what} is running, and only one backup or restore runs at a time per HSM. Fix: wait for it to finish; the next run will back up.`,
        e,
      );
    }
    throw fromRestError(e, backupRoleContext("beginBackup", hsmUrl));
  }
}
