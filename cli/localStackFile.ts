/**
 * The state file `npm start` writes (`.local-stack/stack.json`): which runner URL and settings file the running
 * local stack uses. The CLI reads it when neither `--settings` nor the environment configures it, so
 * `npx hsm-lifecycle status` works against the stack as the README shows it, on whatever port the stack got.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

export interface LocalStackFile {
  state: "running" | "stopped";
  /** The `npm start` process; a "running" file whose process is gone was left by a killed stack. */
  pid: number;
  url: string;
  settingsFile: string;
}

/** `HSM_LIFECYCLE_STACK_FILE`, else `.local-stack/stack.json` under the working directory (the repo root). */
export function localStackFilePath(env: NodeJS.ProcessEnv, cwd: string): string {
  const named = env["HSM_LIFECYCLE_STACK_FILE"]?.trim();
  return named !== undefined && named !== "" ? resolve(named) : join(cwd, ".local-stack", "stack.json");
}

export type LocalStackLookup = { found: "none" } | { found: "stopped"; file: string } | { found: "running"; file: string; stack: LocalStackFile };

/** The stack the file describes, whether its process still runs; a file that is not ours is an error naming it. */
export function readLocalStackFile(file: string): LocalStackLookup {
  if (!existsSync(file)) return { found: "none" };
  let parsed: Partial<LocalStackFile>;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8")) as Partial<LocalStackFile>;
  } catch {
    throw new Error(`[SettingsInvalid] The local stack file ${file} is not JSON. Fix: delete it and run "npm start" again, or pass --settings FILE.`);
  }
  const ok =
    (parsed.state === "running" || parsed.state === "stopped") &&
    Number.isInteger(parsed.pid) &&
    typeof parsed.url === "string" &&
    /^https?:\/\/[^/?#@]+$/.test(parsed.url) &&
    typeof parsed.settingsFile === "string" &&
    parsed.settingsFile !== "";
  if (!ok) throw new Error(`[SettingsInvalid] The local stack file ${file} is not one "npm start" wrote. Fix: delete it and run "npm start" again, or pass --settings FILE.`);
  const stack = parsed as LocalStackFile;
  return stack.state === "running" && processAlive(stack.pid) ? { found: "running", file, stack } : { found: "stopped", file };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else; still a live process.
    return (e as { code?: string }).code === "EPERM";
  }
}
