/**
 * `STATE/stack.json`: what the CLI needs to find a running `npm start` stack (its runner URL and settings file),
 * marked "stopped" on a clean exit. The reader is cli/localStackFile.ts; the CLI also treats a "running" file
 * whose process is gone (a killed stack) as stopped.
 */
import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export function stackStateFile(stateDir: string): string {
  return join(stateDir, "stack.json");
}

export function writeStackState(stateDir: string, state: { state: "running" | "stopped"; pid: number; url: string; settingsFile: string }): void {
  const file = stackStateFile(stateDir);
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify({ ...state, at: new Date().toISOString() }, null, 2) + "\n");
  renameSync(tmp, file);
}
