import type { CliIo } from "./cliIo";

/**
 * A mistake in the command line itself (unknown flag, missing value, bad choice). The CLI prints the usage
 * and exits 2, so scripts can tell "you called me wrong" from "the work failed" (exit 1).
 */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Printed under every usage error instead of the whole usage text: one line says what is wrong, one where to look. */
export const USAGE_HINT = 'Usage: hsm-lifecycle <command> [options]; "hsm-lifecycle --help" lists every command and option.';

/** The two lines a usage error prints on stderr. */
export function usageErrorText(e: UsageError): string {
  return `hsm-lifecycle: ${e.message}\n${USAGE_HINT}`;
}

/**
 * How every command line's parse ends when it is refused: a {@link UsageError} prints its two lines and gives exit
 * code 2; anything else is not the caller's mistake and is thrown on.
 */
export function usageErrorExit(e: unknown, io: CliIo): 2 {
  if (!(e instanceof UsageError)) throw e;
  io.err(usageErrorText(e));
  return 2;
}
