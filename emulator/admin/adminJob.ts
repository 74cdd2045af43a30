/**
 * One Managed HSM admin job (full backup, pre-backup, full restore, pre-restore, selective key restore)
 * as persisted in the state dir, and its wire shapes (FullBackupOperation / RestoreOperation /
 * SelectiveKeyRestoreOperation). Times are unix seconds, as on the wire.
 */
import type { AuditClaims } from "../audit";

export type AdminJobKind = "backup" | "prebackup" | "restore" | "prerestore" | "selectiveKeyRestore";
export type AdminJobStatus = "InProgress" | "Succeeded" | "Failed" | "Canceled";

export interface AdminJob {
  jobId: string;
  kind: AdminJobKind;
  status: AdminJobStatus;
  statusDetails: string | null;
  /** Error code reported with a failure (core-lro builds its thrown message from error.code + message). */
  errorCode: string | null;
  startTime: number;
  endTime: number | null;
  /** Backup only: `<container>/<folder>` once written. */
  azureStorageBlobContainerUri: string | null;
  /** Principal that started the job (audit). */
  startedBy: string;
  /** The request that started it, for the job's completion record (jobs persisted by older emulators lack it). */
  origin?: AdminJobOrigin;
  keyName?: string;
  folder?: string;
}

/** Who started a job and from where, as the audit record of its end names them. */
export interface AdminJobOrigin {
  callerIpAddress: string;
  claims: AuditClaims;
  clientInfo?: string;
}

/** Which status endpoint serves a job: `/backup/{id}/pending` or `/restore/{id}/pending`. */
export function statusCollection(kind: AdminJobKind): "backup" | "restore" {
  return kind === "backup" || kind === "prebackup" ? "backup" : "restore";
}

export function jobToWire(job: AdminJob): Record<string, unknown> {
  const failed = job.status === "Failed";
  const wire: Record<string, unknown> = {
    status: job.status,
    statusDetails: job.statusDetails,
    // Both statusDetails and error are filled on failure: SDK pollers only surface error.code/message.
    error: failed ? { code: job.errorCode ?? "Failed", message: job.statusDetails ?? "The job failed.", innererror: null } : null,
    startTime: job.startTime,
    endTime: job.endTime,
    jobId: job.jobId,
  };
  if (statusCollection(job.kind) === "backup") {
    wire["azureStorageBlobContainerUri"] = job.azureStorageBlobContainerUri;
  }
  return wire;
}
