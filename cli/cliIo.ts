/**
 * Where the CLI writes: results on stdout (a table, or one JSON document with --json), progress and errors
 * on stderr, so `--json` output can be piped while progress stays visible. Tests pass their own sinks.
 */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: CliIo = {
  out: (text) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith("\n") ? text : `${text}\n`),
};
