import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EventType, historyEvent } from '../../runner/historyEvents.js';
import { InstanceStore, replayJournal, type InstanceRecord } from '../../runner/instanceStore.js';
import { startRunner } from '../../runner/startRunner.js';
import { durableClientFor } from './durableClientFor.js';

const work = mkdtempSync(path.join(tmpdir(), 'runner-journal-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let seq = 0;
const ev = (type: number, fields: Parameters<typeof historyEvent>[2] = {}): ReturnType<typeof historyEvent> => historyEvent(type, Date.parse('2026-06-01T00:00:00Z') + seq++, fields);

function record(instanceId: string, parent?: InstanceRecord['parent']): InstanceRecord {
  return {
    instanceId,
    name: 'flow',
    executionId: `exec-${instanceId}`,
    input: null,
    output: null,
    customStatus: null,
    runtimeStatus: 'Pending',
    createdTime: '2026-06-01T00:00:00.000Z',
    lastUpdatedTime: '2026-06-01T00:00:00.000Z',
    history: [],
    inbox: [ev(EventType.ExecutionStarted, { Name: 'flow' })],
    ...(parent ? { parent } : {}),
  };
}

/** One episode the way the host runs it: consume the inbox, append to history (as a new array), set the status. */
function episode(r: InstanceRecord, scheduled: number): void {
  const consumed = r.inbox.length;
  const fresh = [ev(EventType.OrchestratorStarted), ...r.inbox];
  r.history = [...r.history, ...fresh, ev(EventType.TaskScheduled, { EventId: scheduled, Name: 'step' }), ev(EventType.OrchestratorCompleted)];
  r.inbox = r.inbox.slice(consumed);
  r.runtimeStatus = 'Running';
  r.customStatus = { step: scheduled };
}

const lines = (dir: string): Array<Record<string, unknown>> =>
  readFileSync(path.join(dir, 'journal.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
const comparable = (r: InstanceRecord | undefined): unknown => (r ? { ...r, lastUpdatedTime: undefined } : r);

describe('append-only instance journal', () => {
  it('appends only what each commit changed, and a reopened store sees exactly the same instances', () => {
    const dir = path.join(work, 'deltas');
    const store = new InstanceStore(dir);
    const a = record('a');
    store.commit(a);
    for (let i = 0; i < 30; i++) {
      episode(a, i);
      store.commit(a);
      // A completion arrives, and another while the next episode would run.
      a.inbox.push(ev(EventType.TaskCompleted, { TaskScheduledId: i, Result: String(i) }));
      store.commit(a);
    }
    const journal = lines(dir);
    // One whole record when the instance was created; after that only deltas, each a few events long.
    expect(journal.filter((l) => l.put)).toHaveLength(1);
    const deltas = journal.filter((l) => l.d).map((l) => JSON.stringify(l).length);
    expect(deltas).toHaveLength(60);
    expect(Math.max(...deltas)).toBeLessThan(1500);
    // The last delta is as small as the first, although the history grew to 120 events.
    expect(deltas.at(-1)).toBeLessThan((deltas[0] as number) * 2);
    store.close();
    const reopened = new InstanceStore(dir);
    expect(comparable(reopened.get('a'))).toEqual(comparable(a));
    expect(reopened.get('a')?.history).toHaveLength(120);
    reopened.close();
  });

  it('evicts a finished instance from memory, keeps it readable from disk, and purges its file', () => {
    const dir = path.join(work, 'evict');
    const store = new InstanceStore(dir);
    const parent = record('parent');
    const child = record('child', { instanceId: 'parent', executionId: 'exec-parent', taskId: 0 });
    store.commit(parent, child);
    episode(child, 0);
    child.runtimeStatus = 'Completed';
    child.output = '"done"';
    store.commit(child);
    // A child stays in memory until its parent was told it finished.
    expect(store.liveRecords().map((r) => r.instanceId).sort()).toEqual(['child', 'parent']);
    child.parentNotified = true;
    parent.inbox.push(ev(EventType.SubOrchestrationInstanceCompleted, { TaskScheduledId: 0, Result: '"done"' }));
    store.commit(child, parent);
    expect(store.liveRecords().map((r) => r.instanceId)).toEqual(['parent']);
    expect(store.status('child')).toMatchObject({ runtimeStatus: 'Completed', parent: { instanceId: 'parent' } });
    const fromDisk = store.get('child');
    expect(fromDisk).not.toBe(child);
    expect(comparable(fromDisk)).toEqual(comparable(child));
    expect(readdirSync(path.join(dir, 'instances'))).toHaveLength(1);
    store.close();

    const reopened = new InstanceStore(dir);
    expect(reopened.liveRecords().map((r) => r.instanceId)).toEqual(['parent']);
    expect(reopened.get('child')?.output).toBe('"done"');
    expect(reopened.get('parent')?.inbox.map((e) => e.EventType)).toEqual([EventType.ExecutionStarted, EventType.SubOrchestrationInstanceCompleted]);
    expect(reopened.delete('child')).toBe(true);
    expect(readdirSync(path.join(dir, 'instances'))).toEqual([]);
    expect(reopened.get('child')).toBeUndefined();
    reopened.close();
  });

  it('compacts the journal once it outgrows its snapshot, keeping every instance', () => {
    const dir = path.join(work, 'compact');
    const store = new InstanceStore(dir, { minCompactionBytes: 16 * 1024 });
    const ids = ['x', 'y', 'z'];
    const recs = ids.map((id) => record(id));
    for (const r of recs) store.commit(r);
    let largest = 0;
    for (let i = 0; i < 200; i++) {
      const r = recs[i % 3] as InstanceRecord;
      episode(r, i);
      store.commit(r);
      largest = Math.max(largest, statSync(path.join(dir, 'journal.jsonl')).size);
    }
    recs[0]!.runtimeStatus = 'Completed';
    store.commit(recs[0]!);
    const journal = lines(dir);
    // Compacted: it starts with a snapshot, not with the first instance's creation.
    expect(journal.length).toBeLessThan(203);
    const { live, finished } = replayJournal(readFileSync(path.join(dir, 'journal.jsonl'), 'utf8'));
    expect([...live.keys()].sort()).toEqual(['y', 'z']);
    expect([...finished.keys()]).toEqual(['x']);
    store.close();
    const reopened = new InstanceStore(dir);
    for (const r of recs) expect(comparable(reopened.get(r.instanceId))).toEqual(comparable(r));
    reopened.close();
    expect(largest).toBeGreaterThan(16 * 1024);
  });
});

describe('reading a journal a crash cut short', () => {
  it('ends at the first torn line: later lines were never fsync\'d and cannot apply without it', () => {
    const a = record('a');
    const put = JSON.stringify({ put: [a] });
    const delta = (n: number): string => JSON.stringify({ d: [{ id: 'a', h: [ev(EventType.OrchestratorStarted, { EventId: n })] }] });
    const { live } = replayJournal([put, delta(1), '{"d":[{"id":"a","h":[{"EventTy', delta(3)].join('\n'));
    expect(live.get('a')?.history.map((e) => e.EventId)).toEqual([1]);
  });

  it('awaits durability: durable() resolves once every commit so far is fsync\'d', async () => {
    const store = new InstanceStore(path.join(work, 'durable'));
    const r = record('d');
    store.commit(r);
    await store.durable();
    episode(r, 0);
    store.commit(r);
    await Promise.all([store.durable(), store.durable()]);
    store.close();
    expect(comparable(new InstanceStore(path.join(work, 'durable')).get('d'))).toEqual(comparable(r));
  });
});

describe('finished instances on the runner', () => {
  it('are evicted from memory but still answer status and history over the durable API, also after a restart', async () => {
    const appDir = path.resolve(__dirname, '../fixtures/durable-app');
    const stateDir = path.join(work, 'runner-state');
    const options = { appDir, port: 0, clock: 'virtual' as const, stateDir, settingsFile: path.join(appDir, 'fixture.settings.json'), log: false, scheduleTimers: false, startupTimers: false };
    let runner = await startRunner(options);
    try {
      const client = durableClientFor(runner.durableClientData);
      await client.startNew('fanOut', { instanceId: 'evicted-1', input: 5 });
      await client.startNew('parent', { instanceId: 'evicted-2', input: 'Ada' });
      await runner.waitForTerminal(['evicted-1', 'evicted-2']);
      // Nothing finished stays in memory: the store keeps statuses only, and each read is a fresh copy from disk.
      expect(runner.host.list().filter((i) => i.instanceId.startsWith('evicted-')).map((i) => `${i.instanceId}:${i.runtimeStatus}`).sort()).toEqual([
        'evicted-1:Completed',
        'evicted-2:Completed',
        'evicted-2:child:Completed',
      ]);
      expect(runner.host.get('evicted-1')).not.toBe(runner.host.get('evicted-1'));
      const status = await client.getStatus('evicted-1', { showHistory: true, showHistoryOutput: true });
      expect(status.output).toBe(30);
      expect((status.history as Array<{ EventType: string }>).filter((e) => e.EventType === 'TaskCompleted')).toHaveLength(5);
      expect((await client.getStatus('evicted-2:child')).output).toBe('Hello Ada!');
      const listed = (await (await fetch(`${runner.url}/runtime/webhooks/durabletask/instances?runtimeStatus=Completed`)).json()) as Array<{ instanceId: string; output: unknown }>;
      expect(listed.find((i) => i.instanceId === 'evicted-1')?.output).toBe(30);
    } finally {
      await runner.close();
    }
    runner = await startRunner(options);
    try {
      const client = durableClientFor(runner.durableClientData);
      expect((await client.getStatus('evicted-2')).output).toEqual(['Hello Ada!', 'Hello Ada again!']);
      expect((await client.purgeInstanceHistory('evicted-1')).instancesDeleted).toBe(1);
      await expect(client.getStatus('evicted-1')).rejects.toThrow(/404/);
      // A completed id can be started again; the new execution replaces the finished one.
      await client.startNew('fanOut', { instanceId: 'evicted-2', input: 1 });
      await runner.waitForTerminal(['evicted-2']);
      expect((await client.getStatus('evicted-2')).output).toBe(2);
      expect(existsSync(path.join(stateDir, 'journal.jsonl'))).toBe(true);
    } finally {
      await runner.close();
    }
  });
});
