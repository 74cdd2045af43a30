import { type ErrorCode, isErrorCode, retryableByCode } from "./errorCode";
import { LifecycleError, isLifecycleError } from "./lifecycleError";

/**
 * A failure no retry can cure (a missing role, a refused parameter, a conflict), handed back by an activity
 * as a VALUE. durable-functions 3.x retries every thrown activity error alike (its RetryOptions cannot filter
 * by error), so a thrown `[MissingRole]` would be tried again for half a minute before anyone hears of it.
 * Orchestrations turn it back into the LifecycleError with `throwPermanentFailure` (see
 * shared/durable/callActivity.ts), so their catch blocks see the same failure as before, at once.
 */
export interface PermanentFailure {
  readonly permanentFailure: { readonly code: ErrorCode; readonly message: string };
}

export function isPermanentFailure(value: unknown): value is PermanentFailure {
  if (typeof value !== "object" || value === null) return false;
  const f = (value as { permanentFailure?: unknown }).permanentFailure;
  if (typeof f !== "object" || f === null) return false;
  const { code, message } = f as { code?: unknown; message?: unknown };
  return typeof code === "string" && isErrorCode(code) && typeof message === "string";
}

/** The envelope for a LifecycleError whose code no retry can help; undefined for everything else. */
export function permanentFailureOf(e: unknown): PermanentFailure | undefined {
  if (!isLifecycleError(e) || retryableByCode[e.code]) return undefined;
  return { permanentFailure: { code: e.code, message: e.message } };
}

/**
 * Wraps an activity handler: permanent LifecycleErrors come back as a `PermanentFailure` value (after
 * `report` has logged them, since the host then records the call as completed); anything else is thrown
 * as before and retried by durable.
 */
export function returningPermanentFailures<A extends unknown[], O>(
  handler: (...args: A) => Promise<O>,
  report: (failure: PermanentFailure["permanentFailure"]) => void,
): (...args: A) => Promise<O | PermanentFailure> {
  return async (...args: A) => {
    try {
      return await handler(...args);
    } catch (e) {
      const failure = permanentFailureOf(e);
      if (failure === undefined) throw e;
      report(failure.permanentFailure);
      return failure;
    }
  };
}

/** An activity result as the orchestration expects it; a `PermanentFailure` is thrown as its LifecycleError. */
export function throwPermanentFailure<T>(value: unknown): T {
  if (!isPermanentFailure(value)) return value as T;
  const { code, message } = value.permanentFailure;
  const prefix = `[${code}] `;
  throw new LifecycleError(code, message.startsWith(prefix) ? message.slice(prefix.length) : message);
}
