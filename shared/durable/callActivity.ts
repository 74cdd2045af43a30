import type { OrchestrationContext, RetryOptions, Task } from "durable-functions";
import { throwPermanentFailure } from "../errors/permanentFailure";

/**
 * Calls one activity (with durable retries when `retry` is given) and returns its result. A permanent failure
 * the activity handed back as a value is thrown here as its LifecycleError, so it reaches the caller's catch
 * exactly like a thrown one, but without the retries. Use with `yield*`.
 */
export function* callActivity<T>(context: OrchestrationContext, retry: RetryOptions | undefined, name: string, input: unknown): Generator<Task, T, unknown> {
  const value = yield retry === undefined ? context.df.callActivity(name, input) : context.df.callActivityWithRetry(name, retry, input);
  return throwPermanentFailure<T>(value);
}

/** Fan-out: every activity (with retries) at once; the first permanent failure, in input order, is thrown. */
export function* callActivities<T>(context: OrchestrationContext, retry: RetryOptions, name: string, inputs: readonly unknown[]): Generator<Task, T[], unknown> {
  if (inputs.length === 0) return []; // Task.all refuses an empty list
  const values = (yield context.df.Task.all(inputs.map((input) => context.df.callActivityWithRetry(name, retry, input)))) as unknown[];
  return values.map((v) => throwPermanentFailure<T>(v));
}
