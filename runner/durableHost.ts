import { randomUUID } from 'node:crypto';
import type { Clock } from './clock.js';
import type { FunctionInvoker } from './functionInvoker.js';
import { EventType, historyEvent, type HistoryEvent } from './historyEvents.js';
import type { NewWork } from './hostReplay.js';
import { terminalStatuses, type InstanceRecord, type InstanceStatus, type InstanceStore, type RuntimeStatus } from './instanceStore.js';
import type { RunnerLogger } from './logger.js';
import { replayEpisode } from './replayEpisode.js';

export class DurableHostError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

interface ActivityWork {
  instanceId: string;
  executionId: string;
  id: number;
  name: string;
  input: unknown;
}

const invalidIdChars = /[\\/?#\u0000-\u001f\u007f]/;

/**
 * The emulated Durable Task host: instance store, orchestrator episodes (driven by durable-functions' own
 * replay engine through the loaded app's handler), activities with a concurrency limit, durable timers on
 * a real or virtual clock, sub-orchestrations, external events and the management operations.
 */
export class DurableHost {
  private readonly orchestrationQueue = new Set<string>();
  private readonly activityQueue: ActivityWork[] = [];
  private readonly queuedActivityKeys = new Set<string>();
  private runningActivities = 0;
  private episodeRunning = false;
  private readonly timerCancels = new Map<string, () => void>();
  private readonly idleWaiters: Array<() => void> = [];
  private closed = false;
  private advancePending = false;
  /** Counts invocations for the benchmark and tests. */
  readonly stats = { episodes: 0, activities: 0 };
  /** Called for every top-level instance started (not sub-orchestrations): `--once` waits for these. */
  onStart: ((instanceId: string) => void) | undefined;

  constructor(
    private readonly store: InstanceStore,
    private readonly invoker: FunctionInvoker,
    private readonly clock: Clock,
    private readonly logger: RunnerLogger,
    private readonly maxConcurrentActivities = 10,
    private readonly advanceWhenIdle = false,
  ) {}

  /** Re-arms everything a restart must resume: episodes with inbox, activities, timers, sub-orchestrations. */
  recover(): void {
    for (const inst of this.store.liveRecords()) {
      if (inst.parent && terminalStatuses.has(inst.runtimeStatus) && !inst.parentNotified) this.notifyParent(inst);
      if (terminalStatuses.has(inst.runtimeStatus)) continue;
      if (inst.inbox.length > 0) this.orchestrationQueue.add(inst.instanceId);
      const done = new Set<number>();
      for (const e of [...inst.history, ...inst.inbox]) {
        if (e.TaskScheduledId !== undefined) done.add(e.TaskScheduledId);
        if (e.EventType === EventType.TimerFired && e.TimerId !== undefined) done.add(e.TimerId);
      }
      for (const e of inst.history) {
        if (done.has(e.EventId)) continue;
        if (e.EventType === EventType.TaskScheduled) {
          this.enqueueActivity({ instanceId: inst.instanceId, executionId: inst.executionId, id: e.EventId, name: e.Name ?? '', input: JSON.parse(e.Input ?? 'null') });
        } else if (e.EventType === EventType.TimerCreated) {
          this.armTimer(inst, e.EventId, Date.parse(e.FireAt ?? e.Timestamp));
        } else if (e.EventType === EventType.SubOrchestrationInstanceCreated) {
          const child = this.store.status(e.InstanceId ?? '');
          if (!child || child.parent?.executionId !== inst.executionId) {
            this.createSubOrchestration(inst, { kind: 'sub', id: e.EventId, name: e.Name ?? '', instanceId: e.InstanceId ?? '', input: JSON.parse(e.Input ?? 'null') });
          }
        }
      }
    }
    this.pump();
  }

  // ---------------------------------------------------------------- management operations

  startNew(name: string, instanceId: string | undefined, input: unknown): InstanceRecord {
    if (this.invoker.triggerType(name) !== 'orchestrationTrigger') {
      throw new DurableHostError(404, `The function '${name}' doesn't exist, is disabled, or is not an orchestrator function.`);
    }
    const id = instanceId ?? randomUUID().replace(/-/g, '');
    if (id.length === 0 || id.length > 256 || invalidIdChars.test(id) || id.startsWith('@')) {
      throw new DurableHostError(400, `Invalid instance id "${id}": at most 256 characters, no / \\ ? # or control characters, and not starting with @.`);
    }
    const existing = this.store.status(id);
    if (existing && !terminalStatuses.has(existing.runtimeStatus)) {
      // DTFx dedupe: overridableExistingInstanceStates defaults to NonRunningStates.
      throw new DurableHostError(409, `An Orchestration instance with the status ${existing.runtimeStatus} already exists.`);
    }
    for (const cancel of this.cancelTimersOf(id)) cancel();
    const record = this.newInstance(id, name, input, undefined);
    this.store.commit(record);
    this.onStart?.(id);
    this.orchestrationQueue.add(id);
    this.pump();
    return record;
  }

  raiseEvent(instanceId: string, eventName: string, data: unknown): void {
    const inst = this.requireInstance(instanceId);
    if (terminalStatuses.has(inst.runtimeStatus)) throw new DurableHostError(410, `Instance '${instanceId}' is ${inst.runtimeStatus} and cannot receive events.`);
    inst.inbox.push(historyEvent(EventType.EventRaised, this.clock.now(), { Name: eventName, Input: JSON.stringify(data ?? null) }));
    this.store.commit(inst);
    this.orchestrationQueue.add(instanceId);
    this.pump();
  }

  terminate(instanceId: string, reason: string): void {
    const inst = this.requireInstance(instanceId);
    if (terminalStatuses.has(inst.runtimeStatus)) throw new DurableHostError(410, `Instance '${instanceId}' is already ${inst.runtimeStatus}.`);
    inst.history.push(historyEvent(EventType.ExecutionTerminated, this.clock.now(), { Input: JSON.stringify(reason) }));
    inst.inbox = [];
    inst.runtimeStatus = 'Terminated';
    inst.output = JSON.stringify(reason);
    this.store.commit(inst);
    for (const cancel of this.cancelTimersOf(instanceId)) cancel();
    if (inst.parent) this.notifyParent(inst);
    this.signalIdle();
  }

  purge(instanceId: string): boolean {
    const inst = this.store.status(instanceId);
    if (!inst || !terminalStatuses.has(inst.runtimeStatus)) return false;
    return this.store.delete(instanceId);
  }

  /** The whole record (finished instances are read from the state dir). */
  get(instanceId: string): InstanceRecord | undefined {
    return this.store.get(instanceId);
  }

  /** Resolves once every change made so far is on disk: await it before telling a caller a change was accepted. */
  durable(): Promise<void> {
    return this.store.durable();
  }

  /** Status only, from memory: for polling and listing. */
  status(instanceId: string): InstanceStatus | undefined {
    return this.store.status(instanceId);
  }

  list(): InstanceStatus[] {
    return this.store.statuses();
  }

  // ---------------------------------------------------------------- idle tracking

  isBusy(): boolean {
    return this.episodeRunning || this.orchestrationQueue.size > 0 || this.runningActivities > 0 || this.activityQueue.length > 0;
  }

  /**
   * Resolves when nothing is left to do now. With the virtual clock, pending durable timers are fired
   * (the clock jumps) until none is left or `until` says stop.
   */
  async waitForIdle(until?: () => boolean): Promise<void> {
    for (;;) {
      if (this.isBusy()) {
        await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
        continue;
      }
      if (until?.()) return;
      if (this.clock.kind === 'virtual' && this.clock.advanceToNext()) continue;
      return;
    }
  }

  close(): void {
    this.closed = true;
    for (const cancel of this.timerCancels.values()) cancel();
    this.timerCancels.clear();
    this.signalIdle();
  }

  // ---------------------------------------------------------------- scheduling

  private pump(): void {
    if (this.closed) return;
    while (this.runningActivities < this.maxConcurrentActivities && this.activityQueue.length > 0) {
      const work = this.activityQueue.shift() as ActivityWork;
      this.queuedActivityKeys.delete(activityKey(work));
      this.runningActivities++;
      void this.runActivity(work).finally(() => {
        this.runningActivities--;
        this.pump();
      });
    }
    if (!this.episodeRunning && this.orchestrationQueue.size > 0) {
      const next = this.orchestrationQueue.values().next().value as string;
      this.orchestrationQueue.delete(next);
      this.episodeRunning = true;
      void this.runEpisode(next)
        .catch((err: unknown) => {
          // An episode that cannot run (orchestrator no longer registered, corrupt history) must not leave the
          // instance silently stuck with its inbox: fail it with the cause.
          this.logger.system(`episode for '${next}' crashed: ${(err as Error).stack ?? String(err)}`);
          this.failInstance(next, `The runner could not run an episode of instance '${next}': ${(err as Error).message}`);
        })
        .finally(() => {
          this.episodeRunning = false;
          this.pump();
        });
    }
    this.signalIdle();
  }

  private signalIdle(): void {
    if (this.isBusy()) return;
    const waiters = this.idleWaiters.splice(0);
    for (const w of waiters) w();
    if (this.advanceWhenIdle && this.clock.kind === 'virtual' && !this.advancePending) {
      // On the next turn, so requests already on their way (an event, a start) are served before time jumps.
      this.advancePending = true;
      setImmediate(() => {
        this.advancePending = false;
        if (!this.closed && !this.isBusy()) this.clock.advanceToNext();
      });
    }
  }

  private enqueueActivity(work: ActivityWork): void {
    const key = activityKey(work);
    if (this.queuedActivityKeys.has(key)) return;
    this.queuedActivityKeys.add(key);
    this.activityQueue.push(work);
  }

  private armTimer(inst: InstanceRecord, timerId: number, fireAt: number): void {
    const key = `${inst.instanceId}\u0000${inst.executionId}\u0000${timerId}`;
    if (this.timerCancels.has(key) || this.closed) return;
    const { instanceId, executionId } = inst;
    const cancel = this.clock.schedule(fireAt, () => {
      this.timerCancels.delete(key);
      this.deliver(instanceId, executionId, historyEvent(EventType.TimerFired, this.clock.now(), { TimerId: timerId, FireAt: new Date(fireAt).toISOString() }));
    });
    this.timerCancels.set(key, cancel);
  }

  private cancelTimersOf(instanceId: string): Array<() => void> {
    const out: Array<() => void> = [];
    for (const [key, cancel] of this.timerCancels) {
      if (key.startsWith(`${instanceId}\u0000`)) {
        out.push(cancel);
        this.timerCancels.delete(key);
      }
    }
    return out;
  }

  /** Appends an inbound event to an instance's inbox (durably) and schedules an episode. */
  private deliver(instanceId: string, executionId: string, event: HistoryEvent): void {
    if (this.closed) return;
    // Messages for a previous execution (continueAsNew) or a finished instance are dropped, as DTFx does.
    if (!this.isCurrent(instanceId, executionId)) return;
    const inst = this.store.get(instanceId) as InstanceRecord;
    inst.inbox.push(event);
    this.store.commit(inst);
    this.orchestrationQueue.add(instanceId);
    this.pump();
  }

  private async runActivity(work: ActivityWork): Promise<void> {
    if (this.closed || !this.isCurrent(work.instanceId, work.executionId)) return;
    this.stats.activities++;
    let event: HistoryEvent;
    if (this.invoker.triggerType(work.name) !== 'activityTrigger') {
      event = historyEvent(EventType.TaskFailed, this.clock.now(), {
        TaskScheduledId: work.id,
        Reason: `The activity function '${work.name}' doesn't exist, is disabled, or is not an activity function.`,
        Details: '',
      });
    } else {
      // String inputs arrive pre-stringified from the SDK, so they travel as RpcTypedData.string (tryJsonParse'd).
      const trigger = typeof work.input === 'string' ? { string: work.input } : { json: JSON.stringify(work.input ?? null) };
      const res = await this.invoker.invoke({ functionName: work.name, trigger, reason: `Activity of instance ${work.instanceId}`, instanceId: work.instanceId });
      if (this.closed) return;
      if (res.ok) {
        event = historyEvent(EventType.TaskCompleted, this.clock.now(), { TaskScheduledId: work.id, Result: JSON.stringify(res.result ?? null) });
      } else {
        const err = res.error instanceof Error ? res.error : new Error(String(res.error));
        const details = failureDetailsFrom(err.message);
        event = historyEvent(EventType.TaskFailed, this.clock.now(), {
          TaskScheduledId: work.id,
          Reason: `Activity function '${work.name}' failed: ${details?.ErrorMessage ?? err.message}`,
          Details: details?.StackTrace ?? err.stack ?? '',
          ...(details ? { FailureDetails: details } : {}),
        });
      }
    }
    this.deliver(work.instanceId, work.executionId, event);
  }

  private newInstance(instanceId: string, name: string, input: unknown, parent: InstanceRecord['parent']): InstanceRecord {
    const now = new Date(this.clock.now()).toISOString();
    const executionId = randomUUID().replace(/-/g, '');
    const inputJson = input === undefined ? null : JSON.stringify(input);
    return {
      instanceId,
      name,
      executionId,
      input: inputJson,
      output: null,
      customStatus: null,
      runtimeStatus: 'Pending',
      createdTime: now,
      lastUpdatedTime: now,
      history: [],
      inbox: [
        historyEvent(EventType.ExecutionStarted, this.clock.now(), {
          Name: name,
          Input: inputJson,
          OrchestrationInstance: { InstanceId: instanceId, ExecutionId: executionId },
          ParentInstance: parent
            ? { Name: this.store.get(parent.instanceId)?.name ?? '', TaskScheduleId: parent.taskId, OrchestrationInstance: { InstanceId: parent.instanceId, ExecutionId: parent.executionId } }
            : null,
        }),
      ],
      parent,
    };
  }

  private createSubOrchestration(parent: InstanceRecord, work: Extract<NewWork, { kind: 'sub' }>): void {
    const existing = this.store.status(work.instanceId);
    if (existing && !terminalStatuses.has(existing.runtimeStatus)) {
      this.deliver(
        parent.instanceId,
        parent.executionId,
        historyEvent(EventType.SubOrchestrationInstanceFailed, this.clock.now(), {
          TaskScheduledId: work.id,
          Reason: `An Orchestration instance with the status ${existing.runtimeStatus} already exists: sub-orchestration '${work.instanceId}' cannot be started again.`,
          Details: '',
        }),
      );
      return;
    }
    if (this.invoker.triggerType(work.name) !== 'orchestrationTrigger') {
      this.deliver(
        parent.instanceId,
        parent.executionId,
        historyEvent(EventType.SubOrchestrationInstanceFailed, this.clock.now(), {
          TaskScheduledId: work.id,
          Reason: `The orchestrator function '${work.name}' doesn't exist, is disabled, or is not an orchestrator function.`,
          Details: '',
        }),
      );
      return;
    }
    const child = this.newInstance(work.instanceId, work.name, work.input, { instanceId: parent.instanceId, executionId: parent.executionId, taskId: work.id });
    this.store.commit(child);
    this.orchestrationQueue.add(child.instanceId);
  }

  private notifyParent(child: InstanceRecord): void {
    const link = child.parent;
    if (!link) return;
    child.parentNotified = true;
    if (!this.isCurrent(link.instanceId, link.executionId)) {
      this.store.commit(child);
      return;
    }
    const parent = this.store.get(link.instanceId) as InstanceRecord;
    const event =
      child.runtimeStatus === 'Completed'
        ? historyEvent(EventType.SubOrchestrationInstanceCompleted, this.clock.now(), { TaskScheduledId: link.taskId, Result: child.output ?? 'null' })
        : historyEvent(EventType.SubOrchestrationInstanceFailed, this.clock.now(), {
            TaskScheduledId: link.taskId,
            Reason: child.runtimeStatus === 'Failed' ? (JSON.parse(child.output ?? '""') as string) : `Sub-orchestration '${child.instanceId}' was ${child.runtimeStatus}.`,
            Details: '',
          });
    parent.inbox.push(event);
    // Child and parent in one journal line: the notification is never lost nor duplicated by a crash.
    this.store.commit(child, parent);
    this.orchestrationQueue.add(parent.instanceId);
  }

  // ---------------------------------------------------------------- episodes

  private async runEpisode(instanceId: string): Promise<void> {
    const inst = this.store.get(instanceId);
    if (!inst || terminalStatuses.has(inst.runtimeStatus) || inst.inbox.length === 0) return;
    this.stats.episodes++;
    const executionId = inst.executionId;
    const inbound = inst.inbox.slice();
    const lastStarted = [...inst.history].reverse().find((e) => e.EventType === EventType.OrchestratorStarted);
    // Episode time never goes backwards, even if the wall clock does.
    const now = Math.max(this.clock.now(), lastStarted ? Date.parse(lastStarted.Timestamp) : 0);
    const past = inst.history.map((e) => ({ ...e, IsPlayed: true }));
    const fresh = [historyEvent(EventType.OrchestratorStarted, now), ...inbound.map((e) => ({ ...e, IsPlayed: false }))];
    const history = [...past, ...fresh];
    const episode = await replayEpisode(this.invoker, {
      orchestratorName: inst.name,
      instanceId,
      executionId: inst.executionId,
      parentInstanceId: inst.parent?.instanceId ?? null,
      history,
      isReplaying: past.length > 0,
      reason: `Orchestration episode of instance ${instanceId} (${fresh.length} new events)`,
    });
    // Terminated (or replaced) while the orchestrator ran: that decision wins, this episode is discarded.
    if (this.closed || this.store.get(instanceId) !== inst || inst.executionId !== executionId || terminalStatuses.has(inst.runtimeStatus)) return;

    const { reply, host } = episode;
    const newHistory = [...inst.history, ...fresh.map((e) => ({ ...e, IsPlayed: false }))];
    let outcome: { kind: string; output?: unknown; message?: string; input?: unknown };
    let newWork: NewWork[] = [];
    if (!reply || !host) outcome = { kind: 'failed', message: episode.failure };
    else {
      outcome = episode.idMismatch ? { kind: 'failed', message: episode.idMismatch } : host.outcome;
      if (outcome.kind !== 'failed') {
        newHistory.push(...host.newEvents);
        newWork = host.newWork;
      }
      if (reply.customStatus !== undefined) inst.customStatus = reply.customStatus;
    }

    const ts = this.clock.now();
    let status: RuntimeStatus = 'Running';
    if (outcome.kind === 'completed') {
      status = 'Completed';
      inst.output = JSON.stringify(outcome.output ?? null);
      newHistory.push(historyEvent(EventType.ExecutionCompleted, ts, { OrchestrationStatus: 'Completed', Result: inst.output }));
    } else if (outcome.kind === 'failed') {
      status = 'Failed';
      inst.output = JSON.stringify(outcome.message ?? 'failed');
      newHistory.push(historyEvent(EventType.ExecutionFailed, ts, { OrchestrationStatus: 'Failed', Reason: outcome.message, Result: inst.output }));
      this.logger.system(`instance '${instanceId}' failed: ${outcome.message}`);
    } else if (outcome.kind === 'continueAsNew') {
      newHistory.push(historyEvent(EventType.ContinueAsNew, ts, { OrchestrationStatus: 'ContinuedAsNew', Result: JSON.stringify(outcome.input ?? null) }));
    }
    newHistory.push(historyEvent(EventType.OrchestratorCompleted, ts));

    inst.inbox = inst.inbox.slice(inbound.length);
    if (outcome.kind === 'continueAsNew') {
      // A new execution starts from an empty history with the new input; old messages are dropped by executionId.
      for (const cancel of this.cancelTimersOf(instanceId)) cancel();
      const input = outcome.input;
      inst.executionId = randomUUID().replace(/-/g, '');
      inst.input = input === undefined ? null : typeof input === 'string' ? input : JSON.stringify(input);
      inst.history = [];
      inst.inbox = [
        historyEvent(EventType.ExecutionStarted, ts, {
          Name: inst.name,
          Input: inst.input,
          OrchestrationInstance: { InstanceId: instanceId, ExecutionId: inst.executionId },
        }),
      ];
      inst.runtimeStatus = 'Running';
      this.store.commit(inst);
      this.orchestrationQueue.add(instanceId);
      return;
    }
    inst.history = newHistory;
    inst.runtimeStatus = status;
    this.store.commit(inst);
    if (inst.inbox.length > 0 && status === 'Running') this.orchestrationQueue.add(instanceId);
    if (terminalStatuses.has(status)) {
      for (const cancel of this.cancelTimersOf(instanceId)) cancel();
      if (inst.parent) this.notifyParent(inst);
      return;
    }
    for (const work of newWork) {
      if (work.kind === 'activity') this.enqueueActivity({ instanceId, executionId: inst.executionId, id: work.id, name: work.name, input: work.input });
      else if (work.kind === 'timer') this.armTimer(inst, work.id, work.fireAt);
      else this.createSubOrchestration(inst, work);
    }
  }

  private failInstance(instanceId: string, message: string): void {
    const inst = this.store.get(instanceId);
    if (!inst || terminalStatuses.has(inst.runtimeStatus)) return;
    inst.history.push(historyEvent(EventType.ExecutionFailed, this.clock.now(), { OrchestrationStatus: 'Failed', Reason: message }));
    inst.inbox = [];
    inst.runtimeStatus = 'Failed';
    inst.output = JSON.stringify(message);
    this.store.commit(inst);
    for (const cancel of this.cancelTimersOf(instanceId)) cancel();
    if (inst.parent) this.notifyParent(inst);
  }

  /** The instance exists, runs this execution and has not finished (a status check: nothing is read from disk). */
  private isCurrent(instanceId: string, executionId: string): boolean {
    const st = this.store.status(instanceId);
    return st !== undefined && st.executionId === executionId && !terminalStatuses.has(st.runtimeStatus);
  }

  private requireInstance(instanceId: string): InstanceRecord {
    const inst = this.store.get(instanceId);
    if (!inst) throw new DurableHostError(404, `No instance with id '${instanceId}' was found.`);
    return inst;
  }
}

/**
 * With `df.app.setExceptionPropertiesProvider`, durable-functions replaces a failing activity's message with a
 * JSON FailureDetails payload; the host stores it as the TaskFailed FailureDetails, which the SDK turns into a
 * TaskFailedError carrying `failureDetails.properties`.
 */
function failureDetailsFrom(message: string): NonNullable<HistoryEvent['FailureDetails']> | undefined {
  if (!message.startsWith('{')) return undefined;
  try {
    const p = JSON.parse(message) as { errorType?: unknown; errorMessage?: unknown; stackTrace?: unknown; isNonRetriable?: unknown; properties?: unknown };
    if (typeof p.errorType !== 'string' || typeof p.errorMessage !== 'string') return undefined;
    return {
      ErrorType: p.errorType,
      ErrorMessage: p.errorMessage,
      StackTrace: typeof p.stackTrace === 'string' ? p.stackTrace : undefined,
      IsNonRetriable: p.isNonRetriable === true,
      Properties: p.properties && typeof p.properties === 'object' ? (p.properties as Record<string, unknown>) : undefined,
    };
  } catch {
    return undefined;
  }
}

function activityKey(w: ActivityWork): string {
  return `${w.instanceId}\u0000${w.executionId}\u0000${w.id}`;
}
