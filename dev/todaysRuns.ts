/**
 * Today's runs of each timer workflow, read from the runner's durable store by their singleton ids
 * (`sweep:{day}:…`, `backup:{hsm}:{day}`, `drill:{primary}:{target}:{day}`): whether this process started
 * them or a run earlier today did. A timer that finds today's run already done starts nothing, so waiting for
 * what this process started would wait for runs that never come; the store says what really ran and how.
 */
import type { DurableHost } from "../runner/durableHost";
import type { InstanceStatus } from "../runner/instanceStore";
import { orchestrationNames } from "../shared/names";
import type { RunRecord } from "./workflowLines";

export interface TodaysRuns {
  sweep?: RunRecord;
  /** The sweep's rotations (rotateKey instances under its batches). */
  rotations: RunRecord[];
  backups: RunRecord[];
  drill?: RunRecord;
}

type Store = Pick<DurableHost, "list" | "get">;

/** `YYYY-MM-DD` (UTC), as the timer starters name the day. */
export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

export function readRun(store: Store, id: string): RunRecord | undefined {
  const r = store.get(id);
  if (r === undefined) return undefined;
  let output: unknown = null;
  let input: unknown = null;
  try {
    output = r.output === null ? null : (JSON.parse(r.output) as unknown);
    input = r.input === null ? null : (JSON.parse(r.input) as unknown);
  } catch {
    output = r.output;
  }
  return { instanceId: r.instanceId, executionId: r.executionId, name: r.name, status: r.runtimeStatus, createdTime: r.createdTime, input, output, customStatus: r.customStatus };
}

/** The newest of several candidates (a second sweep id the same day means the instance set changed). */
const newest = (list: InstanceStatus[]): InstanceStatus | undefined => [...list].sort((a, b) => a.createdTime.localeCompare(b.createdTime)).at(-1);

export function todaysRuns(store: Store, day: string): TodaysRuns {
  const all = store.list();
  const sweepStatus = newest(all.filter((s) => s.name === orchestrationNames.rotationSweep && s.instanceId.startsWith(`sweep:${day}:`)));
  const sweep = sweepStatus === undefined ? undefined : readRun(store, sweepStatus.instanceId);
  const batchPrefix = sweep === undefined ? undefined : `${sweep.instanceId}:batch:`;
  const rotations = batchPrefix === undefined ? [] : all.filter((s) => s.name === orchestrationNames.rotateKey && s.parent?.instanceId.startsWith(batchPrefix) === true);
  const backups = all.filter((s) => s.name === orchestrationNames.hsmBackup && s.instanceId.startsWith("backup:") && s.instanceId.endsWith(`:${day}`));
  const drillStatus = newest(all.filter((s) => s.name === orchestrationNames.restoreDrill && s.instanceId.startsWith("drill:") && s.instanceId.endsWith(`:${day}`)));
  const out: TodaysRuns = {
    rotations: rotations.map((s) => readRun(store, s.instanceId)).filter((r): r is RunRecord => r !== undefined),
    backups: backups.map((s) => readRun(store, s.instanceId)).filter((r): r is RunRecord => r !== undefined),
  };
  if (sweep !== undefined) out.sweep = sweep;
  const drill = drillStatus === undefined ? undefined : readRun(store, drillStatus.instanceId);
  if (drill !== undefined) out.drill = drill;
  return out;
}

/** `id/executionId` of every finished run: taken before the timers fire, it tells the day's earlier runs apart. */
export function finishedRunKeys(store: Store): Set<string> {
  return new Set(store.list().filter((s) => s.runtimeStatus === "Completed" || s.runtimeStatus === "Failed" || s.runtimeStatus === "Terminated").map((s) => `${s.instanceId}/${s.executionId}`));
}
