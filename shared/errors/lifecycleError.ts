import { type ErrorCode, retryableByCode } from "./errorCode";

/**
 * The one error class of the app. Its message always starts with `[Code] ` because durable-functions
 * hands orchestrators a plain Error built from the message: the prefix is the only part that survives.
 * Changing the prefix format breaks `parseActivityFailure` for histories already written.
 */
export class LifecycleError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;

  /**
   * @param code - what failed, from the closed `ErrorCode` set
   * @param detail - the cause and the fix, in words a person on call can act on; never secrets or key material
   * @param cause - the original error, kept for logs (not serialised across the activity boundary)
   */
  constructor(code: ErrorCode, detail: string, cause?: unknown) {
    super(formatFailureMessage(code, detail), cause === undefined ? undefined : { cause });
    this.name = "LifecycleError";
    this.code = code;
    this.retryable = retryableByCode[code];
  }

  /** The message without the `[Code] ` prefix. */
  get detail(): string {
    return this.message.slice(this.code.length + 3);
  }
}

/** `[Code] detail`: the wire format of a failure across the activity boundary. */
export function formatFailureMessage(code: ErrorCode, detail: string): string {
  return `[${code}] ${detail}`;
}

export function isLifecycleError(e: unknown): e is LifecycleError {
  return e instanceof LifecycleError;
}
