/**
 * Dual-control requests as the e2e tests see them through the real CLI (`requests --json`): the listing, and polling
 * one request until it reaches a state. Shared by the key recovery and early disable tests.
 */
import { expect } from "vitest";
import type { CliRun } from "../support/runCliProcess";

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
