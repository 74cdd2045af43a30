import type { ErrorCode } from "../errors/errorCode";

/**
 * Failures that time cures: storage or the HSM unreachable, throttled, failing on the service side, or a backup
 * job the HSM failed. Within the night's deadline the backup waits them out; everything else (roles, firewall,
 * missing container, bad input, integrity) needs a person and fails at once. `Unexpected` is not waited out:
 * a bug would otherwise hold the night for hours before anyone hears of it.
 */
export const TRANSIENT_BACKUP_CODES: readonly ErrorCode[] = ["StorageUnreachable", "ServiceUnavailable", "Throttled", "Unreachable", "JobFailed"];

export function isTransientBackupFailure(code: ErrorCode): boolean {
  return TRANSIENT_BACKUP_CODES.includes(code);
}

/** First wait after a transient failure; doubles per wait up to the cap. */
export const RECOVERY_FIRST_WAIT_MS = 60_000;
export const RECOVERY_MAX_WAIT_MS = 15 * 60_000;

/** The moment the run stops waiting out transient failures: its start (or scheduled time, if later) plus the deadline. */
export function backupDeadline(startedAt: Date, scheduledFor: string | undefined, deadlineMs: number | undefined): Date | undefined {
  if (deadlineMs === undefined) return undefined;
  const anchor = Math.max(startedAt.getTime(), scheduledFor === undefined ? 0 : Date.parse(scheduledFor));
  return new Date(anchor + deadlineMs);
}

/**
 * When to try again after the `waits`-th transient failure (1 min, 2, 4, 8, then every 15 min), never past the
 * deadline; undefined once the deadline has come (the failure is then reported). Pure: orchestrations call it.
 */
export function nextRecoveryAttempt(now: Date, deadline: Date | undefined, waits: number): Date | undefined {
  if (deadline === undefined || now.getTime() >= deadline.getTime()) return undefined;
  const wait = Math.min(RECOVERY_FIRST_WAIT_MS * 2 ** Math.min(waits, 20), RECOVERY_MAX_WAIT_MS);
  return new Date(Math.min(now.getTime() + wait, deadline.getTime()));
}
