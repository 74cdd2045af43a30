import type { RetentionPolicy } from "./planRetention";

/** Durable retry of one activity call (transient failures: throttling, storage blips). */
export interface ActivityRetryPolicy {
  firstRetryIntervalMs: number;
  maxAttempts: number;
  backoffCoefficient: number;
  maxRetryIntervalMs: number;
}

/**
 * Everything one `hsmBackup` run needs, built by the starter from the settings (orchestrations never read
 * settings) and stored in the history, so a replay always sees the configuration the run started with.
 */
export interface BackupRunInput {
  /** A primary HSM's name from HSMS; every activity resolves its URL from the settings (never from the input). */
  hsmName: string;
  /** UTC night `yyyy-MM-dd` this run belongs to (also in the instance id `backup:{hsm}:{night}`). */
  night: string;
  /** The schedule's occurrence; the run waits (durable timer) until then if it is started early. */
  scheduledFor?: string;
  /** `POLLER_INTERVAL_MS`: shortest status-poll wait when the HSM sends no Retry-After. */
  pollIntervalMs: number;
  /** `ADMIN_JOB_TIMEOUT`: a job still running after this long fails as `JobTimedOut`. */
  jobTimeoutMs: number;
  /** Backup jobs tried per run (a failed JOB is started again after a backoff). */
  jobAttempts: number;
  /** Wait before the 2nd job attempt; doubles per further attempt. */
  jobRetryDelayMs: number;
  activityRetry: ActivityRetryPolicy;
  /** `BACKUP_COPY_CONTAINER_URL` is set: copy the verified backup there. */
  copy: boolean;
  /** Retention after a verified backup; null skips retention. */
  retention: RetentionPolicy | null;
}

/** Defaults for the parts that are not app settings (tests and the bench override them in the input). */
export const defaultBackupRetry = {
  jobAttempts: 3,
  jobRetryDelayMs: 60_000,
  activityRetry: { firstRetryIntervalMs: 5_000, maxAttempts: 4, backoffCoefficient: 2, maxRetryIntervalMs: 60_000 },
} as const;

/** `backup:{hsm}:{yyyy-MM-dd}`: the singleton id of one HSM's backup for one UTC night. */
export function backupInstanceId(hsmName: string, night: string): string {
  return `backup:${hsmName}:${night}`;
}

/** The UTC night (`yyyy-MM-dd`) of a moment. */
export function nightOf(at: Date): string {
  return at.toISOString().slice(0, 10);
}
