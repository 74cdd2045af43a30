import { buildOrchestrationTrigger, compareTaskIds, isReplaying, longRunningTimerIntervalMs, maximumShortTimerMs, parseOrchestrationFailure, sdkOpenTasks } from './durableReplay.js';
import type { FunctionInvoker } from './functionInvoker.js';
import { EventType, type HistoryEvent } from './historyEvents.js';
import { replayHost, type HostReplayResult, type OrchestratorReply } from './hostReplay.js';

export interface ReplayEpisodeRequest {
  orchestratorName: string;
  instanceId: string;
  executionId: string;
  parentInstanceId: string | null;
  /** The whole history the orchestrator sees: played events, then a new OrchestratorStarted and the new events. */
  history: HistoryEvent[];
  /** True when some of `history` was played before (the orchestrator's logs are then silenced, as the host does). */
  isReplaying: boolean;
  /** Shown in the Executing line. */
  reason: string;
}

export interface ReplayEpisodeResult {
  /** The orchestrator's reply, or undefined when it did not return durable-functions orchestrator state. */
  reply: OrchestratorReply | undefined;
  /** Why there is no usable reply. */
  failure: string | undefined;
  /** The emulated host's view of the reply (new work, outcome); undefined without a reply. */
  host: HostReplayResult | undefined;
  /** Set when durable-functions and the emulated host number the open tasks differently. */
  idMismatch: string | undefined;
}

/**
 * One orchestrator episode against a given history: the orchestrator runs through the loaded app's handler
 * (durable-functions' own replay engine), then the emulated Durable extension checks the reply against the
 * history (non-determinism) and works out the new work. The runner's episodes and the replay-compatibility
 * tests both use this, so a fixture replays exactly as an in-flight instance would after a deploy.
 */
export async function replayEpisode(invoker: FunctionInvoker, req: ReplayEpisodeRequest): Promise<ReplayEpisodeResult> {
  const started = req.history.find((e) => e.EventType === EventType.ExecutionStarted);
  const trigger = buildOrchestrationTrigger({
    history: req.history,
    input: started?.Input == null ? null : JSON.parse(started.Input),
    instanceId: req.instanceId,
    isReplaying: req.isReplaying,
    parentInstanceId: req.parentInstanceId,
  });
  const res = await invoker.invoke({
    functionName: req.orchestratorName,
    trigger: { json: JSON.stringify(trigger) },
    reason: req.reason,
    quietWhen: isReplaying,
    instanceId: req.instanceId,
  });
  let reply: OrchestratorReply | undefined;
  let failure: string | undefined;
  if (res.ok) reply = JSON.parse(JSON.stringify(res.result ?? null)) as OrchestratorReply;
  else {
    reply = parseOrchestrationFailure(res.error);
    if (!reply) failure = `Orchestrator function '${req.orchestratorName}' failed: ${(res.error as Error)?.message ?? String(res.error)}`;
  }
  if (reply && (typeof reply !== 'object' || !Array.isArray(reply.actions))) {
    failure = `Orchestrator function '${req.orchestratorName}' did not return durable-functions orchestrator state: is it registered with df.app.orchestration and a generator function?`;
    reply = undefined;
  }
  if (!reply) return { reply, failure, host: undefined, idMismatch: undefined };
  const host = await replayHost(req.history, reply, {
    executionId: req.executionId,
    orchestratorName: req.orchestratorName,
    maximumShortTimerMs,
    longTimerIntervalMs: longRunningTimerIntervalMs,
  });
  let idMismatch: string | undefined;
  if (host.outcome.kind === 'running' && !reply.isDone && reply.error === undefined) {
    const sdk = sdkOpenTasks(res.context);
    idMismatch = sdk ? compareTaskIds(sdk, host, req.orchestratorName) : undefined;
  }
  return { reply, failure, host, idMismatch };
}
