import type { CliIo } from "./cliIo";
import { isTerminal, type FunctionAppClient, type InstanceStatus } from "./functionAppClient";

export interface WaitOptions {
  timeoutMs: number;
  /** Poll interval (default 1 s; the app's status endpoint is cheap). */
  intervalMs?: number;
}

/**
 * Polls each instance until it is terminal, printing a progress line on stderr whenever its runtime status or
 * custom status changes (the workflows publish their stage as custom status). Returns the final statuses in
 * the order given; throws `[JobTimedOut]` naming the instances still running when the timeout passes.
 */
export async function waitForInstances(client: FunctionAppClient, ids: readonly string[], io: CliIo, options: WaitOptions): Promise<InstanceStatus[]> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 1_000;
  const last = new Map<string, string>();
  const done = new Map<string, InstanceStatus>();
  for (;;) {
    for (const id of ids) {
      if (done.has(id)) continue;
      const status = await client.getStatus(id);
      if (status === undefined) {
        // Just started: the host may not have persisted the instance yet.
        if (!last.has(id)) {
          last.set(id, "unknown");
          io.err(`${id}: waiting for the instance to appear`);
        }
        continue;
      }
      const custom = status.customStatus === undefined || status.customStatus === null ? "" : ` ${JSON.stringify(status.customStatus)}`;
      const line = `${status.runtimeStatus}${custom}`;
      if (last.get(id) !== line) {
        last.set(id, line);
        io.err(`${id}: ${line}`);
      }
      if (isTerminal(status.runtimeStatus)) done.set(id, status);
    }
    if (done.size === ids.length) return ids.map((id) => done.get(id) as InstanceStatus);
    if (Date.now() > deadline) {
      const pending = ids.filter((id) => !done.has(id));
      throw new Error(`[JobTimedOut] Still running after ${Math.round(options.timeoutMs / 1000)} s: ${pending.join(", ")}. They keep running in the app. Fix: follow them with "hsm-lifecycle status", or pass a longer --timeout.`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** An orchestration's output as an object (the Functions host returns it parsed; tolerate a JSON string). */
export function outputOf(status: InstanceStatus): Record<string, unknown> | undefined {
  let out = status.output;
  if (typeof out === "string") {
    try {
      out = JSON.parse(out);
    } catch {
      return undefined;
    }
  }
  return typeof out === "object" && out !== null ? (out as Record<string, unknown>) : undefined;
}
