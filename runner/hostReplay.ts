import { EventType, historyEvent, type HistoryEvent } from './historyEvents.js';

/** One JSON action as durable-functions sends it (`lib/src/actions/*`). */
export interface OrchestratorAction {
  actionType: number;
  functionName?: string;
  input?: unknown;
  instanceId?: string;
  fireAt?: string;
  isCanceled?: boolean;
  externalEventName?: string;
  retryOptions?: {
    firstRetryIntervalInMilliseconds: number;
    maxNumberOfAttempts: number;
    backoffCoefficient?: number;
    maxRetryIntervalInMilliseconds?: number;
    retryTimeoutInMilliseconds?: number;
  };
  compoundActions?: OrchestratorAction[];
}

/** The orchestrator's reply (`OrchestratorState`), JSON round-tripped as the host receives it. */
export interface OrchestratorReply {
  isDone: boolean;
  actions: OrchestratorAction[][];
  output?: unknown;
  error?: string;
  customStatus?: unknown;
  schemaVersion?: number;
}

export type NewWork =
  | { kind: 'activity'; id: number; name: string; input: unknown }
  | { kind: 'timer'; id: number; fireAt: number }
  | { kind: 'sub'; id: number; name: string; instanceId: string; input: unknown };

export type EpisodeOutcome =
  | { kind: 'running' }
  | { kind: 'completed'; output: unknown }
  | { kind: 'failed'; message: string }
  | { kind: 'continueAsNew'; input: unknown };

export interface HostReplayResult {
  /** Scheduling events for the new work, in id order, to append before OrchestratorCompleted. */
  newEvents: HistoryEvent[];
  newWork: NewWork[];
  outcome: EpisodeOutcome;
  /** Every id the emulated host allocated and what it was, for the SDK cross-check. */
  kinds: Map<number, string>;
  open: Set<number>;
  idCounter: number;
  /** External events the orchestration waits for, one entry per open wait. */
  waitingForEvents: string[];
}

export interface HostReplayOptions {
  executionId: string;
  orchestratorName: string;
  maximumShortTimerMs: number;
  longTimerIntervalMs: number;
}

class Canceled extends Error {}

interface Scheduled {
  kind: string;
  event: HistoryEvent;
  work?: NewWork;
  canceled?: boolean;
}

/**
 * Emulates what the Durable extension does with an orchestrator's reply (`OutOfProcOrchestrationShim`
 * over DTFx `TaskOrchestrationContext`): it re-runs the shim's sequential `await` over the JSON actions
 * with real promises and walks the history in order, resolving each completion and draining
 * continuations before the next event, as DTFx's scheduler does. Ids are allocated exactly as DTFx does
 * (`idCounter++` per task, timer and sub-orchestration; RetryInterceptor timers; chained long timers),
 * so new work gets the ids the real host would give it, and divergences from the SDK become visible.
 */
export async function replayHost(history: HistoryEvent[], reply: OrchestratorReply, options: HostReplayOptions): Promise<HostReplayResult> {
  const sim = new HostSim(options, reply);
  return sim.run(history);
}

class HostSim {
  private idCounter = 0;
  private now = 0;
  private readonly scheduled = new Map<number, Scheduled>();
  private readonly waiters = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
  private readonly open = new Set<number>();
  private readonly inHistory = new Set<number>();
  private readonly eventBuffer = new Map<string, string[]>();
  private readonly eventWaiters = new Map<string, Array<(v: unknown) => void>>();
  private fatal: string | undefined;
  private continueAsNew: { input: unknown } | undefined;
  private shimStarted = false;
  private shimDone = false;

  constructor(private readonly options: HostReplayOptions, private readonly reply: OrchestratorReply) {}

  async run(history: HistoryEvent[]): Promise<HostReplayResult> {
    for (const e of history) {
      switch (e.EventType) {
        case EventType.OrchestratorStarted:
          this.now = Date.parse(e.Timestamp);
          break;
        case EventType.ExecutionStarted:
          if (!this.shimStarted) {
            this.shimStarted = true;
            void this.runShim();
          }
          break;
        case EventType.TaskScheduled:
          this.matchHistory(e, `activity:${e.Name}`);
          break;
        case EventType.SubOrchestrationInstanceCreated:
          this.matchHistory(e, `sub:${e.Name}`);
          break;
        case EventType.TimerCreated:
          this.matchHistory(e, 'timer');
          break;
        case EventType.TaskCompleted:
        case EventType.SubOrchestrationInstanceCompleted:
          this.settle(e.TaskScheduledId ?? -1, true, e.Result == null ? undefined : JSON.parse(e.Result));
          break;
        case EventType.TaskFailed:
        case EventType.SubOrchestrationInstanceFailed:
          this.settle(e.TaskScheduledId ?? -1, false, new Error(e.Reason ?? 'task failed'));
          break;
        case EventType.TimerFired:
          this.settle(e.TimerId ?? -1, true, undefined);
          break;
        case EventType.EventRaised:
          this.raise(e.Name ?? '', e.Input ?? 'null');
          break;
        default:
          break;
      }
      if (this.fatal) break;
      await drain();
    }
    await drain();

    const newIds = [...this.scheduled.keys()].filter((id) => !this.inHistory.has(id)).sort((a, b) => a - b);
    const newEvents: HistoryEvent[] = [];
    const newWork: NewWork[] = [];
    for (const id of newIds) {
      const s = this.scheduled.get(id) as Scheduled;
      newEvents.push(s.event);
      if (s.work && !s.canceled) newWork.push(s.work);
    }
    const kinds = new Map<number, string>();
    for (const [id, s] of this.scheduled) kinds.set(id, s.kind);
    const waitingForEvents: string[] = [];
    for (const [name, list] of this.eventWaiters) for (let i = 0; i < list.length; i++) waitingForEvents.push(name);
    return { newEvents, newWork, outcome: this.outcome(), kinds, open: new Set(this.open), idCounter: this.idCounter, waitingForEvents };
  }

  private outcome(): EpisodeOutcome {
    if (this.fatal) return { kind: 'failed', message: this.fatal };
    if (!this.shimDone) return { kind: 'running' };
    // DTFx only completes or fails an instance once no task or timer is open (`HasOpenTasks`).
    if (this.open.size > 0) return { kind: 'running' };
    if (this.reply.error !== undefined) return { kind: 'failed', message: `Orchestrator function '${this.options.orchestratorName}' failed: ${this.reply.error}` };
    if (this.continueAsNew) return { kind: 'continueAsNew', input: this.continueAsNew.input };
    if (this.reply.isDone) return { kind: 'completed', output: this.reply.output };
    let waitingForEvents = false;
    for (const list of this.eventWaiters.values()) if (list.length > 0) waitingForEvents = true;
    if (!waitingForEvents) {
      return {
        kind: 'failed',
        message:
          `Orchestrator function '${this.options.orchestratorName}' is waiting for work the Functions host never scheduled: ` +
          'durable-functions and the host disagree about this orchestration, and on Azure it would stay Running forever. ' +
          'Check for yielding the same task twice, retryTimeoutInMilliseconds (durable-js #629) or try/catch around a fail-fast Task.all with retries (durable-js #99).',
      };
    }
    return { kind: 'running' };
  }

  private async runShim(): Promise<void> {
    const list = this.reply.actions.length === 1 ? (this.reply.actions[0] ?? []) : this.reply.actions.flat();
    try {
      for (const action of list) {
        try {
          await this.invoke(action);
        } catch {
          // The shim swallows task failures here: the orchestrator already saw them (ProcessAsyncActionsV2).
        }
        if (this.fatal) return;
      }
    } finally {
      this.shimDone = true;
    }
  }

  private invoke(action: OrchestratorAction): Promise<unknown> {
    switch (action.actionType) {
      case 0:
        return this.scheduleActivity(action);
      case 1:
        return this.retry(action, () => this.scheduleActivity(action));
      case 2:
        return this.scheduleSub(action);
      case 3:
        return this.retry(action, () => this.scheduleSub(action));
      case 4:
        this.continueAsNew = { input: action.input };
        return Promise.resolve(undefined);
      case 5:
        return this.createTimerAction(action);
      case 6:
        return this.waitForEvent(action.externalEventName ?? '');
      case 11:
        return whenAny((action.compoundActions ?? []).map((a) => this.invoke(a)));
      case 12:
        return whenAll((action.compoundActions ?? []).map((a) => this.invoke(a)));
      default:
        this.fatal =
          `Orchestrator function '${this.options.orchestratorName}' used action type ${action.actionType} ` +
          '(entities or callHttp), which the offline runner does not emulate: run it on the real host or avoid that API.';
        return Promise.reject(new Error(this.fatal));
    }
  }

  private allocate(kind: string, build: (id: number) => { event: HistoryEvent; work?: NewWork }, open = true): { id: number; promise: Promise<unknown> } {
    const id = this.idCounter++;
    const built = build(id);
    this.scheduled.set(id, { kind, event: built.event, work: built.work, canceled: !open });
    if (!open) return { id, promise: handled(Promise.reject(new Canceled('timer canceled'))) };
    this.open.add(id);
    const promise = handled(
      new Promise<unknown>((resolve, reject) => {
        this.waiters.set(id, { resolve, reject });
      }),
    );
    return { id, promise };
  }

  private scheduleActivity(action: OrchestratorAction): Promise<unknown> {
    const name = action.functionName ?? '';
    return this.allocate(`activity:${name}`, (id) => ({
      event: historyEvent(EventType.TaskScheduled, this.now, { EventId: id, Name: name, Input: JSON.stringify(action.input ?? null) }),
      work: { kind: 'activity', id, name, input: action.input },
    })).promise;
  }

  private scheduleSub(action: OrchestratorAction): Promise<unknown> {
    const name = action.functionName ?? '';
    return this.allocate(`sub:${name}`, (id) => {
      // DTFx names an unnamed sub-orchestration "{parent ExecutionId}:{id}".
      const instanceId = action.instanceId || `${this.options.executionId}:${id}`;
      return {
        event: historyEvent(EventType.SubOrchestrationInstanceCreated, this.now, { EventId: id, Name: name, InstanceId: instanceId, Input: JSON.stringify(action.input ?? null) }),
        work: { kind: 'sub', id, name, instanceId, input: action.input },
      };
    }).promise;
  }

  private timer(fireAt: number, canceled = false): Promise<unknown> {
    return this.allocate(
      'timer',
      (id) => ({
        event: historyEvent(EventType.TimerCreated, this.now, { EventId: id, FireAt: new Date(fireAt).toISOString() }),
        work: { kind: 'timer', id, fireAt },
      }),
      !canceled,
    ).promise;
  }

  private createTimerAction(action: OrchestratorAction): Promise<unknown> {
    const fireAt = Date.parse(action.fireAt ?? '');
    if (Number.isNaN(fireAt)) {
      this.fatal = `Orchestrator function '${this.options.orchestratorName}' created a timer without a valid fireAt (${String(action.fireAt)}).`;
      return Promise.reject(new Error(this.fatal));
    }
    // The shim creates the timer and cancels it at once when the SDK marked it canceled: one id, no open task.
    if (action.isCanceled) {
      const first = fireAt - this.now > this.options.maximumShortTimerMs ? this.now + this.options.longTimerIntervalMs : fireAt;
      return this.timer(first, true);
    }
    if (fireAt - this.now <= this.options.maximumShortTimerMs) return this.timer(fireAt);
    // Timers longer than MaximumDelayTime are a chain of LongRunningTimerIntervalLength timers
    // (Durable extension DurableOrchestrationContext.CreateTimer).
    return handled(
      (async () => {
        for (;;) {
          const remaining = fireAt - this.now;
          if (remaining <= 0) return undefined;
          await this.timer(this.now + Math.min(remaining, this.options.longTimerIntervalMs));
        }
      })(),
    );
  }

  /** DTFx RetryInterceptor, including the back-compat dummy timer after the last attempt. */
  private retry(action: OrchestratorAction, call: () => Promise<unknown>): Promise<unknown> {
    const opts = action.retryOptions;
    const name = action.functionName ?? '';
    return handled(
      (async () => {
        const max = opts?.maxNumberOfAttempts ?? 1;
        const firstAttempt = this.now;
        let lastError: unknown = new Error(`${name} was not attempted`);
        for (let attempt = 0; attempt < max; attempt++) {
          try {
            return await call();
          } catch (err) {
            lastError = err;
          }
          if (attempt + 1 === max) {
            await this.timer(this.now).catch(() => undefined);
            break;
          }
          const delay = this.nextDelay(attempt, firstAttempt, opts);
          if (delay <= 0) {
            this.fatal =
              `callActivityWithRetry/callSubOrchestratorWithRetry('${name}') stopped retrying because retryTimeoutInMilliseconds elapsed. ` +
              'The Functions host then fails the call without a timer, but durable-functions 3.x waits for one, so on Azure this ' +
              'instance would hang in Running forever (durable-js #629). Remove retryTimeoutInMilliseconds and bound retries with maxNumberOfAttempts.';
            break;
          }
          await this.timer(this.now + delay).catch(() => undefined);
        }
        throw lastError;
      })(),
    );
  }

  private nextDelay(attempt: number, firstAttempt: number, opts: OrchestratorAction['retryOptions']): number {
    if (!opts) return 0;
    if (opts.retryTimeoutInMilliseconds !== undefined && opts.retryTimeoutInMilliseconds > 0 && this.now >= firstAttempt + opts.retryTimeoutInMilliseconds) return 0;
    const delay = opts.firstRetryIntervalInMilliseconds * Math.pow(opts.backoffCoefficient ?? 1, attempt);
    const cap = opts.maxRetryIntervalInMilliseconds && opts.maxRetryIntervalInMilliseconds > 0 ? opts.maxRetryIntervalInMilliseconds : Number.POSITIVE_INFINITY;
    return Math.min(delay, cap);
  }

  private waitForEvent(name: string): Promise<unknown> {
    const buffered = this.eventBuffer.get(name);
    if (buffered && buffered.length > 0) return Promise.resolve(JSON.parse(buffered.shift() as string));
    return handled(
      new Promise<unknown>((resolve) => {
        const list = this.eventWaiters.get(name) ?? [];
        list.push(resolve);
        this.eventWaiters.set(name, list);
      }),
    );
  }

  private raise(name: string, input: string): void {
    const list = this.eventWaiters.get(name);
    const waiter = list?.shift();
    if (waiter) waiter(JSON.parse(input));
    else {
      const buffer = this.eventBuffer.get(name) ?? [];
      buffer.push(input);
      this.eventBuffer.set(name, buffer);
    }
  }

  private matchHistory(e: HistoryEvent, kind: string): void {
    const s = this.scheduled.get(e.EventId);
    if (!s || s.kind !== kind) {
      this.fatal =
        `Non-deterministic workflow detected: the history has ${kind} with id ${e.EventId}, but orchestrator function ` +
        `'${this.options.orchestratorName}' now schedules ${s ? s.kind : 'nothing'} there. Orchestrator code changed while ` +
        'this instance was in flight, or it is not deterministic (use context.df.currentUtcDateTime, no I/O or random values).';
      return;
    }
    this.inHistory.add(e.EventId);
  }

  private settle(id: number, ok: boolean, value: unknown): void {
    const waiter = this.waiters.get(id);
    if (!waiter) return; // a canceled timer firing, or a completion for an id this execution no longer awaits
    this.waiters.delete(id);
    this.open.delete(id);
    if (ok) waiter.resolve(value);
    else waiter.reject(value);
  }
}

function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

function drain(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** .NET Task.WhenAll: waits for every child, then surfaces the first failure. */
function whenAll(children: Promise<unknown>[]): Promise<unknown> {
  return handled(
    Promise.allSettled(children).then((results) => {
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
      return results.map((r) => (r as PromiseFulfilledResult<unknown>).value);
    }),
  );
}

/** .NET Task.WhenAny: completes when any child settles, success or failure, and never throws. */
function whenAny(children: Promise<unknown>[]): Promise<unknown> {
  return new Promise((resolve) => {
    if (children.length === 0) resolve(undefined);
    for (const c of children) c.then(resolve, resolve);
  });
}
