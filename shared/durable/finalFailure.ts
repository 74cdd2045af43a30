import type { RetryOptions } from "durable-functions";
import { parseActivityFailure } from "../errors/parseActivityFailure";

/**
 * How a step's failure reads once the workflow has given up on it: the activity's own message loses any
 * promise of a retry that is no longer coming, and says what was tried instead (a retryable failure was
 * attempted `retry.maxNumberOfAttempts` times; a permanent one once). Pure: safe in orchestrator code.
 */
export function finalFailure(e: unknown, retry: RetryOptions): { code: string; message: string } {
  const failure = parseActivityFailure(e);
  const honest = failure.detail.replace(/;?\s*(the call|it) is retried[^.]*\./gi, ".").replace(/\.\./g, ".").trim();
  const tried = failure.retryable ? `Gave up after ${retry.maxNumberOfAttempts} attempts.` : "Not retried: the failure is permanent until its cause is fixed.";
  return { code: failure.code, message: `${honest} ${tried}` };
}
