import type { OrchestrationContext, Task } from "durable-functions";

/** Longest single durable timer we create: Azure Storage-backed hubs cap timers near 6 days (chain longer waits). */
export const MAX_TIMER_MS = 6 * 24 * 3600 * 1000;

/**
 * Waits until `at` with durable timers of at most six days each, so a P30D grace period is five chained
 * timers rather than one the backend cannot hold. Time comes only from `currentUtcDateTime`.
 */
export function* waitUntil(context: OrchestrationContext, at: Date): Generator<Task, void, unknown> {
  let guard = 0;
  while (context.df.currentUtcDateTime.getTime() < at.getTime() && guard++ < 1000) {
    const next = Math.min(at.getTime(), context.df.currentUtcDateTime.getTime() + MAX_TIMER_MS);
    yield context.df.createTimer(new Date(next));
  }
}
