import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./usageError";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** What `parseCommandLine` gives back for `options`: the typed flag values and the positionals. */
export type ParsedCommandLine<O extends Options> = ReturnType<typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>>;

/**
 * The one way every CLI command line is read: node:util's parseArgs, strict (an unknown flag or a missing value is
 * an error, never ignored) and with positionals, its errors turned into a {@link UsageError} (exit 2) of ours.
 */
export function parseCommandLine<const O extends Options>(argv: readonly string[], options: O): ParsedCommandLine<O> {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (e) {
    throw usageErrorOf(e);
  }
}

/** What each flag's value looks like, for "--html needs a value (FILE)." */
const VALUE_OF: Record<string, string> = { settings: "FILE", credential: "managed-identity or default", "app-url": "URL", at: "an ISO instant", timeout: "SECONDS", instance: "NAME", key: "NAME", hsm: "NAME", pair: "PRIMARY=TARGET", mode: "full or selective", drill: "ID", html: "FILE", reason: "TEXT", ticket: "ID", backup: "FOLDER", version: "VERSION", as: "OBJECT_ID", cert: "FILE", quorum: "N", out: "FILE", "security-domain": "FILE" };

/**
 * node:util's parseArgs errors as one line of ours: "Unknown option '--nope'." stays; a flag without its value
 * ("argument missing", or the next flag taken for it: "argument is ambiguous … use '--html=-XYZ'") says what
 * value it needs; a switch given a value says it takes none. No Node advice about dashes or positionals.
 */
function usageErrorOf(e: unknown): UsageError {
  const message = (e as Error).message;
  const code = (e as { code?: string }).code;
  const flag = /'--([a-z-]+)/.exec(message)?.[1];
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && flag !== undefined) {
    if (/does not take an argument/.test(message)) return new UsageError(`--${flag} takes no value.`);
    return new UsageError(`--${flag} needs a value (${VALUE_OF[flag] ?? "VALUE"}).`);
  }
  return new UsageError((message.split("\n")[0] ?? message).replace(/\. To specify a positional argument.*$/s, "."));
}
