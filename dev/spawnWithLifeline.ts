/**
 * Spawns `node SCRIPT ARGS` through dist/dev/lifeline.js (see there): same pid and behaviour as a direct
 * start, but the child exits by itself when this process dies, however it dies.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./repoRoot";

export function spawnWithLifeline(script: string, args: readonly string[]): ChildProcess {
  const lifeline = join(repoRoot(), "dist", "dev", "lifeline.js");
  if (!existsSync(lifeline)) throw new Error(`${lifeline} does not exist. Build first: npm run build.`);
  // stdin stays an open pipe that we never write to: its end is the child's signal that we are gone.
  return spawn(process.execPath, [lifeline, script, ...args], { stdio: ["pipe", "pipe", "pipe"] });
}
