import { formatFailureMessage } from "../errors/lifecycleError";
import type { JobFailure } from "./classifyJobFailure";

/** The fields of a `getBackupStatus` result this decision reads (the activity output, after JSON). */
export interface PolledJobStatus {
  status: "InProgress" | "Succeeded" | "Failed" | "Canceled";
  /** The HSM's `Retry-After`, when it sent a positive one; otherwise the orchestration uses its setting. */
  retryAfterSeconds?: number;
  /** `<container URL>/<folder>` once the backup succeeded (no query string). */
  folderUri?: string;
  startTime: string;
  endTime?: string;
  /** Set when the job failed or was canceled: a code and a `[Code] cause. Fix: …` message. */
  error?: JobFailure;
}

export interface NextPollOptions {
  /** The orchestration's clock (`context.df.currentUtcDateTime`). */
  now: Date;
  /** When this run started following the job (orchestration time), the base of the timeout. */
  watchStartedAt: Date;
  /** `ADMIN_JOB_TIMEOUT`. */
  timeoutMs: number;
  /** `POLLER_INTERVAL_MS`: the shortest wait when the service sends no Retry-After. */
  intervalMs: number;
  /** The longest wait between polls (default 60 s). */
  maxIntervalMs?: number;
}

export type NextPoll =
  | { kind: "succeeded"; folderUri: string; startTime: string; endTime: string }
  | { kind: "failed"; error: JobFailure }
  | { kind: "timedOut"; error: JobFailure }
  | { kind: "wait"; delayMs: number; fireAt: string };

/**
 * What a monitoring orchestration does after one status poll: finish, fail, time out, or wait (durable
 * timer) and poll again. Pure and deterministic, safe in orchestrator code.
 *
 * The wait follows the service's `Retry-After` when it sends one; otherwise it grows with the time already
 * spent — max(`intervalMs`, 10% of the elapsed time), capped at `maxIntervalMs` — so the delay between a
 * job's completion and the orchestration noticing stays within max(interval, 10% of the job's duration)
 * while long jobs cost few polls. No wait ever runs past the timeout.
 */
export function nextBackupPoll(status: PolledJobStatus, options: NextPollOptions): NextPoll {
  const now = options.now.getTime();
  const elapsed = Math.max(0, now - options.watchStartedAt.getTime());
  if (status.status === "Succeeded") {
    if (status.folderUri === undefined || status.endTime === undefined) {
      return failed("JobFailed", "The backup job reported success without a folder or end time. The backup is retried.");
    }
    return { kind: "succeeded", folderUri: status.folderUri, startTime: status.startTime, endTime: status.endTime };
  }
  if (status.status === "Failed" || status.status === "Canceled") {
    return { kind: "failed", error: status.error ?? failedError("JobFailed", `The backup job ended as ${status.status} without details. The backup is retried.`) };
  }
  const remaining = options.timeoutMs - elapsed;
  if (remaining <= 0) {
    return {
      kind: "timedOut",
      error: failedError(
        "JobTimedOut",
        `The backup job was still running after ${Math.round(elapsed / 60_000)} minutes (ADMIN_JOB_TIMEOUT is ${Math.round(options.timeoutMs / 60_000)} minutes). Fix: check the HSM's admin job status and the storage account; raise ADMIN_JOB_TIMEOUT if backups of this HSM are legitimately slower.`,
      ),
    };
  }
  const serviceWait = status.retryAfterSeconds !== undefined && status.retryAfterSeconds > 0 ? status.retryAfterSeconds * 1000 : undefined;
  const adaptive = Math.min(options.maxIntervalMs ?? 60_000, Math.max(options.intervalMs, Math.floor(elapsed / 10)));
  const delayMs = Math.max(0, Math.min(serviceWait ?? adaptive, remaining));
  return { kind: "wait", delayMs, fireAt: new Date(now + delayMs).toISOString() };
}

function failedError(code: JobFailure["code"], detail: string): JobFailure {
  return { code, message: formatFailureMessage(code, detail) };
}

function failed(code: JobFailure["code"], detail: string): NextPoll {
  return { kind: "failed", error: failedError(code, detail) };
}
