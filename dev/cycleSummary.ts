import type { Runner, RunSummary } from "../runner/index";
import { orchestrationNames } from "../shared/names";

/**
 * The runner's summary with every backup and drill shown as itself. Each of them runs under a lock
 * orchestration (`exclusiveRun`) that completes even when its run fails and keeps only the run's id as its
 * output; a cycle judged by the locks would hide a failed backup or a failed drill verdict. So each lock is
 * replaced by the run it held, and the counts and `ok` are taken again over what is then listed.
 */
export function cycleSummary(runner: Runner): RunSummary {
  const summary = runner.summary();
  const instances = summary.instances.map((i) => {
    if (i.name !== orchestrationNames.exclusiveRun) return i;
    const held = (i.output as { instanceId?: unknown } | undefined)?.instanceId;
    const run = typeof held === "string" ? runner.summary([held]).instances[0] : undefined;
    return run ?? i;
  });
  const counts: Record<string, number> = {};
  for (const i of instances) counts[i.status] = (counts[i.status] ?? 0) + 1;
  const ok = summary.failedInvocations.length === 0 && !instances.some((i) => i.status === "Failed" || i.status === "Terminated");
  return { ...summary, ok, counts, instances };
}
