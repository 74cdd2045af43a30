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
