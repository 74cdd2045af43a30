/**
 * Runs a bench's `main`. A failure goes to stderr as `[bench NAME] failed: STACK` with exit code 1, so a script that
 * compares runs sees why the JSON line on stdout is missing.
 */
export function runBench(name: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    process.stderr.write(`[bench ${name}] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
}
