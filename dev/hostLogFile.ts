/**
 * The file `npm start` sends host and function logs to (runner lifecycle, every function's context.log, the
 * children's output, the app's console), so the console keeps to progress and results. Written synchronously:
 * the last lines before a crash or process.exit() are the ones a person needs.
 */
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import type { RunnerLogger } from "../runner/logger";

export interface HostLogFile {
  file: string;
  /** One line from `source` (runner, azurite, emulator, console, stack …), time-stamped. */
  line(source: string, text: string): void;
  /** The runner's logger, writing here. */
  runnerLogger: RunnerLogger;
  close(): void;
}

export function openHostLogFile(file: string): HostLogFile {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  let fd: number | undefined = openSync(file, "a", 0o600);
  const write = (text: string): void => {
    if (fd === undefined) return;
    try {
      writeSync(fd, `${new Date().toISOString()} ${text}\n`);
    } catch {
      // A full disk must not stop the stack; the console still shows progress.
    }
  };
  return {
    file,
    line: (source, text) => write(`[${source}] ${text}`),
    runnerLogger: {
      lifecycle: (message) => write(message),
      functionLog: (functionName, invocationId, level, message) => write(`[${functionName}] [${level}] (Id=${invocationId}) ${message}`),
      system: (message) => write(`[runner] ${message}`),
    },
    close: () => {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}
