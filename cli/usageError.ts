/**
 * A mistake in the command line itself (unknown flag, missing value, bad choice). The CLI prints the usage
 * and exits 2, so scripts can tell "you called me wrong" from "the work failed" (exit 1).
 */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
