import { type ErrorCode, errorCodes, isErrorCode, retryableByCode } from "./errorCode";
import { redactSecrets } from "./redactSecrets";

/** What an orchestration learns about a failed activity or sub-orchestration. */
export interface ActivityFailure {
  code: ErrorCode;
  retryable: boolean;
  /** The cause and fix as the activity wrote them (no stack); for unrecognised failures the first line. */
  detail: string;
}

const codePattern = new RegExp(`\\[(${errorCodes.join("|")})\\]`);

/**
 * The ONE place that reads an error code back out of a durable failure.
 *
 * durable-functions 3.5 hands the orchestrator one of these (lib/src/orchestrations/TaskOrchestrationExecutor.js):
 * - `new Error(`${Reason} \n ${Details}`)` from a `TaskFailed` / `SubOrchestrationInstanceFailed` history event,
 *   where the host writes Reason as `Activity function 'x' failed: [Code] …` and Details as the stack;
 * - a `TaskFailedError` whose message is `${errorType}: ${errorMessage}` and whose `failureDetails` may carry
 *   `properties.code` (when an exception-properties provider is registered) and an `innerFailure` chain. The
 *   Functions host (durable extension OutOfProcMiddleware.CallActivityAsync) writes Reason
 *   `Function 'x' failed with an unhandled exception.` and builds FailureDetails by splitting the worker's
 *   exception text at its first ": ", so `[Code] …` may be cut in two — the parser reads both halves joined;
 * - an `AggregatedError` (`Task.all` fail-fast) with `errors[]`;
 * - for sub-orchestrations, a message embedding the child's `OrchestrationFailureError` JSON state.
 * In-process callers may also pass the `LifecycleError` itself.
 *
 * Pure and deterministic: safe to call from orchestrator code.
 */
export function parseActivityFailure(err: unknown): ActivityFailure {
  // The detail goes to logs, audit records and published events; an unexpected error may quote a credential.
  const found = findFailure(err, 0);
  if (found !== undefined) return { ...found, detail: redactSecrets(found.detail) };
  const text = messageOf(err);
  const firstLine = redactSecrets(text.split("\n")[0]?.trim() ?? "");
  return { code: "Unexpected", retryable: retryableByCode.Unexpected, detail: firstLine.length > 0 ? firstLine : "unknown failure" };
}

function findFailure(err: unknown, depth: number): ActivityFailure | undefined {
  if (depth > 8 || err === null || err === undefined) return undefined;
  if (typeof err === "object") {
    // Structured paths first: they cannot be fooled by text that merely mentions a code.
    const direct = (err as { code?: unknown; retryable?: unknown }).code;
    if (err instanceof Error && err.name === "LifecycleError" && typeof direct === "string" && isErrorCode(direct)) {
      return fromText(err.message) ?? { code: direct, retryable: retryableByCode[direct], detail: err.message };
    }
    const details = (err as { failureDetails?: unknown }).failureDetails;
    if (typeof details === "object" && details !== null) {
      const viaDetails = fromFailureDetails(details, 0);
      if (viaDetails !== undefined) return viaDetails;
    }
    const errors = (err as { errors?: unknown }).errors;
    if (Array.isArray(errors)) {
      for (const inner of errors) {
        const found = findFailure(inner, depth + 1);
        if (found !== undefined) return found;
      }
    }
  }
  return fromText(messageOf(err));
}

function fromFailureDetails(details: object, depth: number): ActivityFailure | undefined {
  if (depth > 8) return undefined;
  const d = details as { errorType?: unknown; errorMessage?: unknown; properties?: unknown; innerFailure?: unknown };
  const props = d.properties;
  if (typeof props === "object" && props !== null) {
    const code = (props as { code?: unknown }).code;
    if (typeof code === "string" && isErrorCode(code)) {
      const text = typeof d.errorMessage === "string" ? d.errorMessage : "";
      return fromText(text) ?? { code, retryable: retryableByCode[code], detail: text };
    }
  }
  // The Functions host splits the worker's exception text at its first ": " into errorType and errorMessage
  // (durable extension OutOfProcMiddleware.TrySplitExceptionTypeFromMessage), so the code may sit in either.
  const errorType = d.errorType;
  const joined = [typeof errorType === "string" ? errorType : "", typeof d.errorMessage === "string" ? d.errorMessage : ""].filter((x) => x !== "").join(": ");
  if (joined !== "") {
    const found = fromText(joined);
    if (found !== undefined) return found;
  }
  if (typeof d.innerFailure === "object" && d.innerFailure !== null) return fromFailureDetails(d.innerFailure, depth + 1);
  return undefined;
}

/** Finds the first `[Code]` of a known code and the detail that follows it on the same line. */
function fromText(text: string): ActivityFailure | undefined {
  const match = codePattern.exec(text);
  if (match === null) return undefined;
  const code = match[1] as ErrorCode;
  const start = match.index + match[0].length;
  const insideJsonString = match.index > 0 && text[match.index - 1] === '"';
  let rest = text.slice(start);
  if (insideJsonString) {
    rest = jsonStringTail(rest);
  } else {
    // Legacy shape: `${Reason} \n ${Details}` — the stack starts after the first newline.
    const nl = rest.indexOf("\n");
    if (nl !== -1) rest = rest.slice(0, nl);
  }
  return { code, retryable: retryableByCode[code], detail: rest.trim() };
}

/** The rest of a JSON string literal (up to its closing quote), unescaped. */
function jsonStringTail(rest: string): string {
  let i = 0;
  while (i < rest.length) {
    const ch = rest[i];
    if (ch === "\\") i += 2;
    else if (ch === '"') break;
    else i += 1;
  }
  const raw = rest.slice(0, i);
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return raw;
  }
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === "string") return err;
  if (typeof err === "object" && err !== null) {
    const m = (err as { message?: unknown }).message;
    if (typeof m === "string") return m;
  }
  return String(err);
}
