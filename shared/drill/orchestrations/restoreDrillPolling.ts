import type { OrchestrationContext, RetryOptions, Task } from "durable-functions";
import { callActivity } from "../../durable/callActivity";

/** Status reads of one admin job never grow a history past this many rounds (each round is ~4 events). */
export const MAX_POLL_ROUNDS = 300;
const MAX_POLL_DELAY_MS = 60_000;
const MIN_POLL_DELAY_MS = 250;

export type PollResult<T> = { kind: "done"; snapshot: T } | { kind: "timedOut"; lastStatus: string; waitedMs: number };

/**
 * Reads a job with a poll-once activity until it leaves `InProgress`, waiting between reads on durable timers
 * (no worker is held while the HSM works). Waits start at `pollIntervalMs` and grow ×1.5 to one minute, so a
 * two-hour restore costs about 150 rounds. Ends as timed out at `timeoutMs` after the first read.
 */
export function* pollAdminJob<T extends { status: string }>(
  context: OrchestrationContext,
  retry: RetryOptions,
  activity: string,
  input: unknown,
  options: { pollIntervalMs: number; timeoutMs: number },
): Generator<Task, PollResult<T>, unknown> {
  const started = context.df.currentUtcDateTime.getTime();
  const deadline = started + options.timeoutMs;
  let delay = Math.max(MIN_POLL_DELAY_MS, options.pollIntervalMs);
  let last = "InProgress";
  for (let round = 0; round < MAX_POLL_ROUNDS; round++) {
    const snapshot: T = yield* callActivity<T>(context, retry, activity, input);
    if (snapshot.status !== "InProgress") return { kind: "done", snapshot };
    last = snapshot.status;
    const now = context.df.currentUtcDateTime.getTime();
    if (now >= deadline) break;
    yield context.df.createTimer(new Date(Math.min(now + delay, deadline)));
    delay = Math.min(MAX_POLL_DELAY_MS, Math.round(delay * 1.5));
  }
  return { kind: "timedOut", lastStatus: last, waitedMs: context.df.currentUtcDateTime.getTime() - started };
}
