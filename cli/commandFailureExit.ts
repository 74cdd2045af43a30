import { errorText } from "../shared/errors/errorText";
import type { CliIo } from "./cliIo";
import { UsageError, usageErrorExit } from "./usageError";

/**
 * How a command that was accepted but failed ends: a {@link UsageError} found only while running (a name that is not
 * configured) exits 2 like any usage error; anything else prints `hsm-lifecycle COMMAND: cause` and exits 1.
 */
export function commandFailureExit(e: unknown, io: CliIo, command: string): 1 | 2 {
  if (e instanceof UsageError) return usageErrorExit(e, io);
  io.err(`hsm-lifecycle ${command}: ${errorText(e)}`);
  return 1;
}
