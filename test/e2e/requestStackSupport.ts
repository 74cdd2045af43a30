/**
 * Dual-control requests as the e2e tests see them through the real CLI (`requests --json`): the listing, and polling
 * one request until it reaches a state; and the local stack with the app in a runner child process they run on.
 * Shared by the key recovery and early disable tests.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { startLocalStack, type LocalStack } from "../../dev/localStack";
import { spawnRunner, type RunnerChild } from "../runner/runnerProcess";
import type { CliRun } from "../support/runCliProcess";

export interface RequestStack {
  stack: LocalStack;
  child: RunnerChild;
  /** Kills the runner, stops the stack, removes its folder. */
  close(): Promise<void>;
}

/** A local stack (Azurite in memory) in a fresh temp folder named `prefix…`, and the app in a runner child on it. */
export async function startRequestStack(prefix: string): Promise<RequestStack> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let stack: LocalStack | undefined;
  let child: RunnerChild | undefined;
  const close = async (): Promise<void> => {
    if (child !== undefined) {
      child.child.kill("SIGKILL");
      await child.exited;
    }
    await stack?.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    stack = await startLocalStack({ stateDir: dir, azuriteInMemory: true });
    child = await spawnRunner(["--app", ".", "--port", "0", "--state-dir", join(dir, "runner"), "--settings", stack.settingsFile]);
    return { stack, child, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** One request as listed; `R` is the shape of its operation's result. */
export interface RequestRow<R = Record<string, unknown>> {
  request: string;
  operation: string;
  status: string;
  approvers: string[];
  required: number;
  message?: string;
  result?: R;
}

export interface RequestPolling<R> {
  rows(): Promise<RequestRow<R>[]>;
  row(id: string): Promise<RequestRow<R> | undefined>;
  /** Polls every 500 ms until `until` holds; failing, names the last state and the runner's stderr tail. */
  waitFor(id: string, until: (r: RequestRow<R>) => boolean, timeoutMs?: number): Promise<RequestRow<R>>;
}

export function requestPolling<R = Record<string, unknown>>(cli: (args: string[]) => Promise<CliRun>, runnerStderr: () => string): RequestPolling<R> {
  const rows = async (): Promise<RequestRow<R>[]> => {
    const run = await cli(["requests", "--json"]);
    expect(run.code, run.stderr).toBe(0);
    return JSON.parse(run.stdout) as RequestRow<R>[];
  };
  const row = async (id: string): Promise<RequestRow<R> | undefined> => (await rows()).find((r) => r.request === id);
  const waitFor = async (id: string, until: (r: RequestRow<R>) => boolean, timeoutMs = 90_000): Promise<RequestRow<R>> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await row(id);
      if (r !== undefined && until(r)) return r;
      if (Date.now() > deadline) throw new Error(`request ${id} never got there: ${JSON.stringify(r)}; runner: ${runnerStderr().slice(-2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  };
  return { rows, row, waitFor };
}
