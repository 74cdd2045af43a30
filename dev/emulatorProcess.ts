/**
 * The emulator (`dist/emulator/main.js`) as a child process: spawned with the given flags, resolved on its
 * one JSON ready line. Needs `npm run build` first.
 */
import { existsSync } from "node:fs";
import type { ReadyLine } from "../emulator/server";
import { OutputTail, stopChild, waitForLine } from "./childProcess";
import { spawnWithLifeline } from "./spawnWithLifeline";

/** The ready line, with the topic entries' extra fields (endpoint, keyFile, resourceId). */
export interface EmulatorReady extends ReadyLine {
  instances: Record<string, { kind: string; url: string; endpoint?: string; keyFile?: string; resourceId?: string }>;
}

export interface EmulatorProcess {
  pid: number;
  ready: EmulatorReady;
  /** Last lines of the emulator's stderr (its log). */
  recentOutput(): string;
  stop(): Promise<void>;
}

export async function startEmulatorProcess(
  mainJs: string,
  args: string[],
  options: { startTimeoutMs?: number; onLine?: (line: string) => void } = {},
): Promise<EmulatorProcess> {
  if (!existsSync(mainJs)) throw new Error(`${mainJs} does not exist. Build first: npm run build.`);
  const child = spawnWithLifeline(mainJs, args);
  if (child.pid === undefined) throw new Error(`Could not spawn the emulator (${mainJs}).`);
  const tail = new OutputTail();
  let ready: EmulatorReady;
  try {
    ready = await waitForLine(
      child,
      "The emulator",
      (line, stream) => {
        if (stream !== "stdout") return undefined;
        const parsed = JSON.parse(line) as EmulatorReady;
        if (parsed.event !== "ready") throw new Error(`The emulator's first stdout line is not its ready line: ${line}`);
        return parsed;
      },
      { timeoutMs: options.startTimeoutMs ?? 60_000, tail, ...(options.onLine ? { onLine: (l: string) => options.onLine?.(l) } : {}) },
    );
  } catch (e) {
    await stopChild(child, 1_000);
    throw e;
  }
  let stopped: Promise<void> | undefined;
  return { pid: child.pid, ready, recentOutput: () => tail.text(), stop: () => (stopped ??= stopChild(child)) };
}
