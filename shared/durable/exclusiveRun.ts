import type { OrchestrationContext, Task } from "durable-functions";

/**
 * The input of `exclusiveRun`: the orchestration that holds a lock while it runs, and the run it holds it for.
 * The lock is the `exclusiveRun` instance's own id (`exclusive:{workflow}:{resource}`, see startExclusive):
 * durable refuses to start an id that is Pending or Running, so at most one run per resource holds it.
 */
export interface ExclusiveRunInput {
  /** The orchestration to run (hsmBackup, restoreDrill, …). */
  name: string;
  /** Its own instance id, unique per run (reports, events and status URLs keep naming single runs). */
  instanceId: string;
  input: unknown;
}

/** Small on purpose: the run's own output stays on the run's instance. */
export interface ExclusiveRunOutput {
  instanceId: string;
  runtimeStatus: "Completed" | "Failed";
  error?: string;
}

/** `customStatus` of the lock while it is held: which run holds it, from the execution that actually runs. */
export interface ExclusiveRunStatus {
  running: string;
}

/**
 * Orchestration `exclusiveRun`: runs one orchestration as a sub-orchestration and so holds its lock (its own
 * instance id) exactly as long as the run lasts. A failed run releases the lock like a completed one: the
 * lock completes either way, and the run's failure is the run's own status.
 */
export function* exclusiveRun(context: OrchestrationContext): Generator<Task, ExclusiveRunOutput, unknown> {
  const run = context.df.getInput() as ExclusiveRunInput;
  const status: ExclusiveRunStatus = { running: run.instanceId };
  context.df.setCustomStatus(status);
  try {
    yield context.df.callSubOrchestrator(run.name, run.input, run.instanceId);
    return { instanceId: run.instanceId, runtimeStatus: "Completed" };
  } catch (e) {
    return { instanceId: run.instanceId, runtimeStatus: "Failed", error: String((e as Error)?.message ?? e).slice(0, 500) };
  }
}
