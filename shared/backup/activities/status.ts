import { fromRestError } from "../../errors/fromRestError";
import { LifecycleError } from "../../errors/lifecycleError";
import type { AdminJobWire } from "../../hsm/keyVaultAdminPoller";
import type { BackupDeps } from "../backupDeps";
import { backupRoleContext, checkHsmInput } from "../backupTarget";
import { classifyJobFailure } from "../classifyJobFailure";
import type { PolledJobStatus } from "../nextBackupPoll";

export interface GetBackupStatusInput {
  hsmName: string;
  jobId: string;
}

/** What one status read returns; the same shape `nextBackupPoll` decides on (after JSON). */
export type GetBackupStatusOutput = PolledJobStatus;

/**
 * Activity `getBackupStatus`: reads the job's status ONCE (`GET /backup/{jobId}/pending`) and returns.
 * The orchestration waits between calls with durable timers, so no worker is held while a job runs.
 * Works for backup and pre-backup jobs alike.
 */
export async function getBackupStatus(input: GetBackupStatusInput, deps: BackupDeps): Promise<GetBackupStatusOutput> {
  const { hsmUrl } = checkHsmInput(input, deps, "getBackupStatus");
  const jobId = input.jobId;
  if (typeof jobId !== "string" || !/^[A-Za-z0-9-]{1,64}$/.test(jobId)) {
    throw new LifecycleError("BadParameter", `getBackupStatus needs the jobId startBackup returned (got ${JSON.stringify(jobId)}).`);
  }
  let response;
  try {
    response = await deps.adminPipeline(hsmUrl).send<AdminJobWire>({ method: "GET", pathOrUrl: `/backup/${jobId}/pending`, expectedStatuses: [200] });
  } catch (e) {
    throw fromRestError(e, backupRoleContext("getBackupStatus", `${hsmUrl}/backup/${jobId}/pending`));
  }
  const job = response.body ?? {};
  const status = job.status;
  if (status !== "InProgress" && status !== "Succeeded" && status !== "Failed" && status !== "Canceled") {
    throw new LifecycleError("Unexpected", `getBackupStatus on ${hsmUrl}: job ${jobId} has an unknown status ${JSON.stringify(status)}.`);
  }
  const out: GetBackupStatusOutput = { status, startTime: isoFromSeconds(job.startTime) ?? deps.now().toISOString() };
  const endTime = isoFromSeconds(job.endTime);
  if (endTime !== undefined) out.endTime = endTime;
  const retryAfter = Number(response.headers["retry-after"]);
  if (Number.isFinite(retryAfter) && retryAfter > 0) out.retryAfterSeconds = retryAfter;
  const folderUri = job.azureStorageBlobContainerUri?.split("?")[0];
  if (status === "Succeeded" && folderUri) out.folderUri = folderUri;
  if (status === "Failed" || status === "Canceled") {
    const containerUrl = deps.backupContainer.url.split("?")[0] ?? "";
    out.error = classifyJobFailure(job.error?.code ?? status, job.error?.message ?? job.statusDetails ?? undefined, containerUrl);
  }
  return out;
}

function isoFromSeconds(seconds: number | null | undefined): string | undefined {
  return typeof seconds === "number" && seconds > 0 ? new Date(seconds * 1000).toISOString() : undefined;
}
