/**
 * Replay-compatibility fixtures: the history of one real orchestration instance stopped at a waiting point (a
 * durable timer, an external event, a polling timer, an activity in flight), and what the orchestrator asked for
 * at that point. Replaying a fixture with the current code is what Azure does to that instance after a deploy;
 * the replay goes through the runner's own episode path (durable-functions' replay engine via the app's
 * registered handler, then the emulated Durable extension's history check), with no server started.
 *
 * What is compared, and why not activity inputs: on replay, durable-functions and the Durable extension match each
 * history event to the orchestrator's task by sequence id, kind and function name only; the inputs of tasks already
 * scheduled are never compared (their results come from the history). So a change of an activity's input is
 * replay-safe by the engine's own rules, while a changed order, kind or name of a yield, or a timer's fire time,
 * is not. The fixture keeps kinds, names, sub-orchestration instance ids, external event names and timer fire
 * times, in order, and compares those exactly.
 */
import path from "node:path";
import { EventType, loadApp, replayEpisode, createFunctionInvoker, type FunctionInvoker, type HistoryEvent, type OrchestratorAction } from "../../runner/index";

/** One action the orchestrator asked for, without its input. */
export type ActionShape =
  | { type: "callActivity" | "callActivityWithRetry"; name: string }
  | { type: "callSubOrchestrator" | "callSubOrchestratorWithRetry"; name: string; instanceId: string | null }
  | { type: "createTimer"; fireAt: string; canceled: boolean }
  | { type: "waitForExternalEvent"; eventName: string }
  | { type: "continueAsNew" }
  | { type: "whenAny" | "whenAll"; children: ActionShape[] }
  | { type: "other"; actionType: number };

/** What the instance waits for at the waiting point. */
export type PendingShape = { kind: "activity" | "subOrchestration"; id: number; name: string } | { kind: "timer"; id: number; fireAt: string } | { kind: "externalEvent"; name: string };

export interface ReplayExpectation {
  /** Every action the orchestrator asks for on a full replay, in order (the whole run so far). */
  actions: ActionShape[];
  /** The open tasks and awaited events: what the next event it receives must answer. */
  pending: PendingShape[];
}

export interface ReplayFixture {
  /** What this fixture pins, in words (shown in test names). */
  title: string;
  orchestrator: string;
  instanceId: string;
  executionId: string;
  parentInstanceId: string | null;
  /** The commit whose code produced the history. */
  capturedFrom: string;
  history: HistoryEvent[];
  expected: ReplayExpectation;
}

export interface ReplayResult {
  /** Why the replay cannot go on (non-determinism, a throw, ids that disagree); undefined when it replayed. */
  problem: string | undefined;
  observed: ReplayExpectation;
  /** Work the orchestrator asked for that the history does not have yet (none at a true waiting point). */
  newWork: number;
  /** The orchestrator returned (its output is final). */
  done: boolean;
}

const actionTypes: Record<number, "callActivity" | "callActivityWithRetry" | "callSubOrchestrator" | "callSubOrchestratorWithRetry"> = {
  0: "callActivity",
  1: "callActivityWithRetry",
  2: "callSubOrchestrator",
  3: "callSubOrchestratorWithRetry",
};

export function actionShape(a: OrchestratorAction): ActionShape {
  const type = actionTypes[a.actionType];
  if (type === "callActivity" || type === "callActivityWithRetry") return { type, name: a.functionName ?? "" };
  if (type !== undefined) return { type, name: a.functionName ?? "", instanceId: a.instanceId ?? null };
  switch (a.actionType) {
    case 4:
      return { type: "continueAsNew" };
    case 5:
      return { type: "createTimer", fireAt: new Date(a.fireAt ?? "").toISOString(), canceled: a.isCanceled === true };
    case 6:
      return { type: "waitForExternalEvent", eventName: a.externalEventName ?? "" };
    case 11:
      return { type: "whenAny", children: (a.compoundActions ?? []).map(actionShape) };
    case 12:
      return { type: "whenAll", children: (a.compoundActions ?? []).map(actionShape) };
    default:
      return { type: "other", actionType: a.actionType };
  }
}

/** The app (dist/) loaded as the Functions worker would, for replaying without a runner or servers. */
export async function loadReplayInvoker(appDir: string): Promise<FunctionInvoker> {
  const app = await loadApp(path.resolve(appDir));
  const quiet = { lifecycle: () => undefined, functionLog: () => undefined, system: () => undefined };
  return createFunctionInvoker({ shim: app.shim, functions: app.functions, logger: quiet, durableClientData: () => ({}) });
}

/**
 * Replays a fixture's history with the code loaded in `invoker`, as the next episode after a deploy would, with
 * `next` as the new events of that episode (none: only the replay itself).
 */
export async function replayFixture(invoker: FunctionInvoker, fixture: Pick<ReplayFixture, "orchestrator" | "instanceId" | "executionId" | "parentInstanceId" | "history">, next: HistoryEvent[] = []): Promise<ReplayResult> {
  const past = fixture.history.map((e) => ({ ...e, IsPlayed: true }));
  // The episode starts once its newest event has arrived (a timer fires at its fire time), as on the host.
  const at = Math.max(0, ...[...past, ...next].map((e) => Date.parse(e.Timestamp)).filter((t) => !Number.isNaN(t)));
  const started: HistoryEvent = { EventType: EventType.OrchestratorStarted, EventId: -1, IsPlayed: false, Timestamp: new Date(at).toISOString() };
  const history = [...past, started, ...next.map((e) => ({ ...e, IsPlayed: false }))];
  const episode = await replayEpisode(invoker, {
    orchestratorName: fixture.orchestrator,
    instanceId: fixture.instanceId,
    executionId: fixture.executionId,
    parentInstanceId: fixture.parentInstanceId,
    history,
    isReplaying: past.length > 0,
    reason: `replay-compatibility check of ${fixture.instanceId}`,
  });
  const { reply, host } = episode;
  const empty = { actions: [], pending: [] };
  if (!reply || !host) return { problem: episode.failure ?? "the orchestrator returned no state", observed: empty, newWork: 0, done: false };
  const actions = (reply.actions.length === 1 ? (reply.actions[0] ?? []) : reply.actions.flat()).map(actionShape);
  const fireAt = new Map<number, string>();
  for (const e of history) if (e.EventType === EventType.TimerCreated && e.FireAt !== undefined) fireAt.set(e.EventId, new Date(e.FireAt).toISOString());
  const pending: PendingShape[] = [];
  for (const id of [...host.open].sort((a, b) => a - b)) {
    const kind = host.kinds.get(id) ?? "";
    if (kind === "timer") pending.push({ kind: "timer", id, fireAt: fireAt.get(id) ?? "(not in history)" });
    else if (kind.startsWith("activity:")) pending.push({ kind: "activity", id, name: kind.slice("activity:".length) });
    else if (kind.startsWith("sub:")) pending.push({ kind: "subOrchestration", id, name: kind.slice("sub:".length) });
  }
  for (const name of [...host.waitingForEvents].sort()) pending.push({ kind: "externalEvent", name });
  let problem: string | undefined;
  if (host.outcome.kind === "failed") problem = host.outcome.message;
  else if (episode.idMismatch !== undefined) problem = episode.idMismatch;
  else if (reply.error !== undefined) problem = `the orchestrator threw: ${reply.error}`;
  return { problem, observed: { actions, pending }, newWork: host.newEvents.length, done: reply.isDone };
}
