import { LifecycleError } from "./lifecycleError";

/**
 * For `df.app.setExceptionPropertiesProvider(...)`: puts `{code, retryable}` into the failure details durable
 * records, so `parseActivityFailure` can read the code structurally as well as from the `[Code]` prefix.
 * Optional: the message prefix alone is enough.
 */
export const lifecycleExceptionProperties = {
  getExceptionProperties(error: unknown): Record<string, unknown> | undefined {
    return error instanceof LifecycleError ? { code: error.code, retryable: error.retryable } : undefined;
  },
};
