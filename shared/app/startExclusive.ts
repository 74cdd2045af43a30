import type { ExclusiveRunInput, ExclusiveRunStatus } from "../durable/exclusiveRun";
import { orchestrationNames } from "../names";

/** The durable-client calls a singleton start needs (durable-functions' DurableClient fits). */
export interface ExclusiveStartClient {
  getStatus(instanceId: string, options?: { showInput?: boolean }): Promise<{ runtimeStatus?: unknown; customStatus?: unknown; input?: unknown } | undefined | null>;
  startNew(name: string, options: { instanceId: string; input: unknown }): Promise<string>;
}

/** Who runs: this request's run (`started`) or the run that already held the lock. */
export type ExclusiveStart = { started: true; instanceId: string } | { started: false; instanceId: string; runtimeStatus: string };

/** The lock of one workflow on one resource: `exclusive:drill:{DR HSM}`, `exclusive:backup:{HSM}`. */
export function exclusiveLockId(workflow: "drill" | "backup" | "reverify", resource: string): string {
  return `exclusive:${workflow}:${resource}`;
}

const TERMINAL = new Set(["Completed", "Failed", "Terminated", "Canceled"]);

export interface ExclusiveStartOptions {
  /** How long to wait for the lock's first episode and the run's instance to show (default 10 s). */
  settleMs?: number;
  /** Poll step while waiting (default 50 ms). */
  pollMs?: number;
}

/**
 * Starts `run` under the lock `lockId` (an `exclusiveRun` instance), or names the run that holds it.
 *
 * Atomicity comes from the durable backend: starting an instance id that is Pending or Running is refused
 * (`overridableExistingInstanceStates` = NonRunningStates, the default), which the runner, MSSQL, Netherite and
 * the Durable Task Scheduler do atomically. The Azure Storage backend checks and then writes, so two starts
 * racing within milliseconds can BOTH be answered as accepted; its worker still runs only one execution of the
 * id (the other ExecutionStarted is discarded as a duplicate). So a start is not trusted as won: the winner is
 * read back from the lock's custom status, which the executing lock sets from its own input. A caller whose
 * run is not the one named there lost and is told the holder, on every backend.
 *
 * A lock released between our refused start and our status read is retried (a few times) instead of
 * answering with a finished run.
 */
export async function startExclusive(client: ExclusiveStartClient, lockId: string, run: ExclusiveRunInput, options: ExclusiveStartOptions = {}): Promise<ExclusiveStart> {
  const settleMs = options.settleMs ?? 10_000;
  const pollMs = options.pollMs ?? 50;
  for (let attempt = 0; attempt < 5; attempt++) {
    let accepted = true;
    try {
      await client.startNew(orchestrationNames.exclusiveRun, { instanceId: lockId, input: run });
    } catch (e) {
      if (!isRunningConflict(e)) throw e;
      accepted = false;
    }
    const holder = await settledHolder(client, lockId, accepted ? run.instanceId : undefined, settleMs, pollMs);
    if (holder === undefined) continue; // released in between: try to take it
    if (accepted && holder === run.instanceId) {
      await appeared(client, run.instanceId, settleMs, pollMs);
      return { started: true, instanceId: run.instanceId };
    }
    const status = await statusOf(client, holder);
    // The holder's run not yet created (its lock's first episode just ran) is about to start: Pending.
    return { started: false, instanceId: holder, runtimeStatus: typeof status?.runtimeStatus === "string" ? status.runtimeStatus : "Pending" };
  }
  throw new Error(`[Conflict] The lock ${lockId} was taken and released 5 times while ${run.instanceId} tried to start. Fix: try again.`);
}

/**
 * The run holding the lock: the lock's custom status once its first episode ran, else its stored input. When
 * we were accepted, waits (bounded) for the custom status, the only proof of which execution runs. Undefined
 * when the lock is no longer held.
 */
async function settledHolder(client: ExclusiveStartClient, lockId: string, ours: string | undefined, settleMs: number, pollMs: number): Promise<string | undefined> {
  const deadline = Date.now() + settleMs;
  for (;;) {
    const lock = await statusOf(client, lockId, true);
    const terminal = lock === undefined || TERMINAL.has(String(lock.runtimeStatus));
    const running = (lock?.customStatus as Partial<ExclusiveRunStatus> | null | undefined)?.running;
    const queued = (lock?.input as Partial<ExclusiveRunInput> | null | undefined)?.instanceId;
    if (ours === undefined) {
      if (terminal) return undefined;
      if (typeof running === "string") return running;
      if (typeof queued === "string") return queued;
    } else if (typeof running === "string" && (!terminal || running === ours)) {
      // Our lock ran (possibly to the end already), or another execution holds it: we lost a backend race.
      return running;
    }
    // Accepted but not executed yet (or a previous holder's finished lock still shows): wait for the proof.
    if (Date.now() > deadline) return ours ?? (typeof queued === "string" ? queued : undefined);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Waits (bounded) until the run's instance exists, so a status URL handed out answers at once. */
async function appeared(client: ExclusiveStartClient, instanceId: string, settleMs: number, pollMs: number): Promise<void> {
  const deadline = Date.now() + settleMs;
  while ((await statusOf(client, instanceId)) === undefined && Date.now() <= deadline) await new Promise((r) => setTimeout(r, pollMs));
}

/** durable-functions' getStatus throws on 404 (no such instance): that is "absent", anything else an error. */
async function statusOf(client: ExclusiveStartClient, instanceId: string, showInput = false): Promise<{ runtimeStatus?: unknown; customStatus?: unknown; input?: unknown } | undefined> {
  try {
    const s = await client.getStatus(instanceId, { showInput });
    return s === null || s === undefined || s.runtimeStatus === undefined ? undefined : s;
  } catch (e) {
    if (/\b404\b/.test((e as Error)?.message ?? "")) return undefined;
    throw e;
  }
}

/** The backend's refusal to start an id that is Pending or Running (HTTP 409 "… already exists"). */
export function isRunningConflict(e: unknown): boolean {
  const m = (e as Error)?.message ?? String(e);
  return /already exists|\b409\b/i.test(m);
}
