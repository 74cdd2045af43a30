import type { ErrorCode } from "../../errors/errorCode";
import { formatFailureMessage } from "../../errors/lifecycleError";
import { redactSecrets } from "../../errors/redactSecrets";
import type { AdminJobSnapshot } from "../adminJobSnapshot";
import { readAdminJob } from "./adminJobs";
import type { DrillDeps } from "./deps";
import { guardDrillTarget } from "./targetGuard";

export interface GetRestoreStatusInput {
  primary: string;
  target: string;
  jobId: string;
}

export interface RestoreStatus extends AdminJobSnapshot {
  /** Failed/Canceled: the lifecycle code and the `[Code] cause. Fix: …` text for the report. */
  failure?: { code: ErrorCode; message: string };
}

/**
 * Activity `getRestoreStatus`: one read of a restore, pre-restore or selective-restore job on the DR HSM.
 * Failure is a value (the drill reports it); only a failed read throws.
 */
export async function getRestoreStatus(input: GetRestoreStatusInput, deps: DrillDeps): Promise<RestoreStatus> {
  const { targetUrl } = guardDrillTarget(deps, input);
  const snap: RestoreStatus = await readAdminJob(deps, targetUrl, "restore", input.jobId);
  if (snap.error !== undefined) snap.failure = classifyRestoreFailure(snap.error.code, snap.error.message);
  return snap;
}

/**
 * The cause of a failed restore job, from the service's text: another security domain, a tampered or corrupt
 * backup, the missing self-backup, or anything else.
 */
export function classifyRestoreFailure(serviceCode: string, text: string): { code: ErrorCode; message: string } {
  const said = redactSecrets(text.trim() || "no details given").slice(0, 500);
  const make = (code: ErrorCode, detail: string): { code: ErrorCode; message: string } => ({ code, message: formatFailureMessage(code, detail) });
  if (/security domain/i.test(said)) {
    return make("SecurityDomainMismatch", `The DR HSM does not share the primary's security domain (${said}). Fix: initialise the DR HSM with the primary's security domain (upload it) before drilling.`);
  }
  if (/modified|corrupt|tamper|integrity|digest|authenticat/i.test(said)) {
    return make("BackupIntegrityFailed", `The backup folder failed the HSM's integrity check (${said}). Fix: the backup was altered or damaged in storage; restore from another verified backup and investigate who can write the backup container.`);
  }
  if (/within the last 30 minutes|backup of itself/i.test(said)) {
    return make("JobFailed", `The DR HSM has no recent full backup of itself (${said}). Fix: the drill backs DR up first; rerun it.`);
  }
  return make("JobFailed", `The restore job failed on the DR HSM (${serviceCode}): ${said}.`);
}
