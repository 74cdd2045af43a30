import type { DurableHost } from "../runner/durableHost";
import { todaysRuns } from "./todaysRuns";
import { backupLine, drillLine, isTerminal, rotationLine, type RunRecord, type WorkflowLine } from "./workflowLines";

export interface DayLines {
  lines: WorkflowLine[];
  /** Today's drill run, once there is one (its report is fetched when it is done). */
  drill?: RunRecord;
  /** Per workflow: nothing to wait for, its runs of the day have finished or there is none (a timer that started nothing). */
  settled: { rotation: boolean; backup: boolean; drill: boolean };
}

/**
 * One line per workflow of `day` (backups: one per HSM), from the runs' durable status. `finishedBefore`
 * (finishedRunKeys, taken before this process fired any timer) marks the runs that ended earlier today.
 */
export function dayLines(store: Pick<DurableHost, "list" | "get">, day: string, finishedBefore: ReadonlySet<string>): DayLines {
  const runs = todaysRuns(store, day);
  const earlier = (r: RunRecord | undefined): boolean => r !== undefined && finishedBefore.has(`${r.instanceId}/${r.executionId ?? ""}`);
  const lines = [rotationLine(runs.sweep, runs.rotations, earlier(runs.sweep))];
  if (runs.backups.length === 0) lines.push(backupLine(undefined));
  for (const b of runs.backups) lines.push(backupLine(b, earlier(b)));
  lines.push(drillLine(runs.drill, earlier(runs.drill)));
  const out: DayLines = {
    lines,
    settled: {
      rotation: runs.sweep === undefined || isTerminal(runs.sweep),
      backup: runs.backups.every(isTerminal),
      drill: runs.drill === undefined || isTerminal(runs.drill),
    },
  };
  if (runs.drill !== undefined) out.drill = runs.drill;
  return out;
}
