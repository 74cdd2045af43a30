/**
 * The ONLY place that reaches into durable-functions internals. Everything here is pinned to
 * durable-functions 3.5.0 (`lib/src/orchestrations/TaskOrchestrationExecutor.js`, `lib/src/task/*`) and
 * duck-typed, so it works with whatever copy of durable-functions the loaded app resolves.
 */
import type { HistoryEvent } from './historyEvents.js';
import type { OrchestratorReply } from './hostReplay.js';

export const maximumShortTimer = '6.00:00:00';
export const longRunningTimerInterval = '3.00:00:00';
export const maximumShortTimerMs = 6 * 24 * 3600_000;
export const longRunningTimerIntervalMs = 3 * 24 * 3600_000;

/** The orchestrationTrigger payload as the Durable extension builds it (`OrchestrationContextToString`). */
export function buildOrchestrationTrigger(args: {
  history: HistoryEvent[];
  input: unknown;
  instanceId: string;
  isReplaying: boolean;
  parentInstanceId: string | null;
}): Record<string, unknown> {
  return {
    history: args.history,
    input: args.input,
    instanceId: args.instanceId,
    isReplaying: args.isReplaying,
    parentInstanceId: args.parentInstanceId,
    upperSchemaVersion: 1,
    upperSchemaVersionNew: 2,
    longRunningTimerIntervalDuration: longRunningTimerInterval,
    maximumShortTimerDuration: maximumShortTimer,
    defaultHttpAsyncRequestSleepTimeMillseconds: 30000,
  };
}

/**
 * A failing orchestrator does not return its state: the SDK throws OrchestrationFailureError whose message is
 * `<orchestratorReturned>\n\n$OutOfProcData$:<state JSON>` (the worker passes that message to the host).
 */
export function parseOrchestrationFailure(err: unknown): OrchestratorReply | undefined {
  const message = err instanceof Error ? err.message : typeof err === 'string' ? err : '';
  const marker = '$OutOfProcData$:';
  const at = message.indexOf(marker);
  if (at < 0) return undefined;
  try {
    return JSON.parse(message.slice(at + marker.length)) as OrchestratorReply;
  } catch {
    return undefined;
  }
}

interface SdkTask {
  constructor: { name: string };
  actionObj?: { actionType?: number; functionName?: string; isCanceled?: boolean };
  parent?: SdkTask & { isWaitingOnTimer?: boolean; innerTask?: SdkTask; isCanceled?: boolean };
}

function kindOf(task: SdkTask | undefined): string | undefined {
  if (!task) return undefined;
  if (task.constructor.name === 'NoOpTask') {
    // RetryableTask allocates a NoOpTask for the retry timer, then another for the re-attempt.
    const parent = task.parent;
    if (!parent) return undefined;
    return parent.isWaitingOnTimer ? 'timer' : kindOf(parent.innerTask);
  }
  const a = task.actionObj;
  if (!a) return undefined;
  if (a.actionType === 0 || a.actionType === 1) return `activity:${a.functionName}`;
  if (a.actionType === 2 || a.actionType === 3) return `sub:${a.functionName}`;
  if (a.actionType === 5) return a.isCanceled || task.parent?.isCanceled ? undefined : 'timer';
  return undefined;
}

/** The SDK's own open task ids after an invocation (`context.df.taskOrchestratorExecutor.openTasks`). */
export function sdkOpenTasks(invocationContext: unknown): Map<number, string> | undefined {
  const df = (invocationContext as { df?: { taskOrchestratorExecutor?: { openTasks?: Record<string, SdkTask> } } }).df;
  const open = df?.taskOrchestratorExecutor?.openTasks;
  if (!open) return undefined;
  const result = new Map<number, string>();
  for (const [key, task] of Object.entries(open)) {
    const id = Number(key);
    if (!Number.isInteger(id)) continue; // external-event waits are keyed by name and use no sequence id
    const kind = kindOf(task);
    if (kind) result.set(id, kind);
  }
  return result;
}

/** Whether the orchestrator is replaying right now (used to silence its logs as the host does). */
export function isReplaying(invocationContext: unknown): boolean {
  return (invocationContext as { df?: { isReplaying?: boolean } } | undefined)?.df?.isReplaying === true;
}

/**
 * Cross-checks the SDK's sequence ids against the emulated host's. Ids the host has not allocated yet are
 * tolerated (the shim may still be waiting for a whole Task.all); any other difference means the two sides
 * would pair completions with the wrong tasks on Azure.
 */
export function compareTaskIds(
  sdk: Map<number, string>,
  host: { kinds: Map<number, string>; open: Set<number>; idCounter: number },
  orchestratorName: string,
): string | undefined {
  const describe = (id: number, sdkKind: string | undefined, hostKind: string | undefined): string =>
    `durable-functions and the Functions host disagree on task id ${id} in orchestrator function '${orchestratorName}': ` +
    `the SDK has ${sdkKind ?? 'nothing'} there, the host has ${hostKind ?? 'nothing'}. On Azure this instance would pair results ` +
    'with the wrong tasks and silently produce a wrong result. This happens when a fail-fast Task.all containing ' +
    'callActivityWithRetry/callSubOrchestratorWithRetry is caught with try/catch and more work is scheduled (durable-js #99/#485): ' +
    'let each retried call catch its own errors (return a result value) or wrap it in a sub-orchestration.';
  for (const id of host.open) {
    const hostKind = host.kinds.get(id);
    if (sdk.get(id) !== hostKind) return describe(id, sdk.get(id), hostKind);
  }
  for (const [id, sdkKind] of sdk) {
    if (id >= host.idCounter) continue;
    const hostKind = host.kinds.get(id);
    if (hostKind !== sdkKind) return describe(id, sdkKind, hostKind);
  }
  return undefined;
}
