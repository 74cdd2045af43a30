/**
 * Helpers for the stack's child processes (Azurite, the emulator): wait for a line that says "ready",
 * keep a short tail of the output for error messages, and stop a child for sure (SIGTERM, then SIGKILL).
 */
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

/** The last lines a child wrote, for error messages (a child that dies at start says why there). */
export class OutputTail {
  private readonly lines: string[] = [];
  constructor(private readonly max = 40) {}
  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.max) this.lines.shift();
  }
  text(): string {
    return this.lines.join("\n");
  }
}

/**
 * Reads `child`'s stdout and stderr line by line into `tail` (and `onLine`), and resolves with the value
 * `match` returns for the first line it accepts. Rejects if the child exits first or `timeoutMs` passes
 * (then the child is killed, so a half-started child never outlives the failure).
 */
export function waitForLine<T>(
  child: ChildProcess,
  what: string,
  match: (line: string, stream: "stdout" | "stderr") => T | undefined,
  options: { timeoutMs: number; tail: OutputTail; onLine?: (line: string, stream: "stdout" | "stderr") => void },
): Promise<T> {
  return new Promise<T>((resolvePromise, reject) => {
    let done = false;
    const finish = (error: Error | undefined, value?: T): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.off("exit", onExit);
      if (error) {
        child.kill("SIGKILL");
        reject(error);
      } else resolvePromise(value as T);
    };
    const timer = setTimeout(() => finish(new Error(`${what} did not become ready within ${options.timeoutMs} ms. Last output:\n${options.tail.text()}`)), options.timeoutMs);
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      finish(new Error(`${what} exited (${signal ?? `code ${code}`}) before it was ready. Last output:\n${options.tail.text()}`));
    child.once("exit", onExit);
    for (const stream of ["stdout", "stderr"] as const) {
      const source = child[stream];
      if (source === null) continue;
      // The reader keeps draining after ready, so a chatty child never blocks on a full pipe.
      createInterface({ input: source }).on("line", (line) => {
        options.tail.push(line);
        options.onLine?.(line, stream);
        if (done) return;
        let value: T | undefined;
        try {
          value = match(line, stream);
        } catch (e) {
          finish(e as Error);
          return;
        }
        if (value !== undefined) finish(undefined, value);
      });
    }
  });
}

export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited. */
export function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (!isRunning(child)) return Promise.resolve();
  return new Promise<void>((resolvePromise) => {
    const force = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(force);
      resolvePromise();
    });
    child.kill("SIGCONT"); // a stopped (SIGSTOP) child cannot act on SIGTERM
    child.kill("SIGTERM");
  });
}
