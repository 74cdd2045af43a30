import path from 'node:path';
import * as df from 'durable-functions';
import type { DurableClient } from 'durable-functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventTypeName, type HistoryEvent } from '../../runner/historyEvents.js';
import { startRunner, type Runner } from '../../runner/startRunner.js';
import { durableClientFor } from './durableClientFor.js';

const appDir = path.resolve(__dirname, '../fixtures/durable-app');

let runner: Runner;
let client: DurableClient;

beforeAll(async () => {
  runner = await startRunner({ appDir, port: 0, clock: 'virtual', settingsFile: path.join(appDir, 'fixture.settings.json'), log: false, maxConcurrentActivities: 3 });
  client = durableClientFor(runner.durableClientData);
});

afterAll(async () => {
  await runner?.close();
});

async function run(name: string, instanceId: string, input?: unknown): Promise<{ status: string; output: unknown; history: HistoryEvent[] }> {
  await client.startNew(name, { instanceId, input });
  await runner.waitForTerminal([instanceId]);
  const status = await client.getStatus(instanceId, { showHistory: true, showHistoryOutput: true });
  const record = runner.host.get(instanceId);
  return { status: String(status.runtimeStatus), output: status.output, history: record?.history ?? [] };
}

const kinds = (h: HistoryEvent[]): string[] => h.map((e) => eventTypeName(e.EventType));
const scheduled = (h: HistoryEvent[]): Array<[string, number, string | undefined]> =>
  h.filter((e) => [4, 7, 10].includes(e.EventType)).map((e) => [eventTypeName(e.EventType), e.EventId, e.Name ?? e.FireAt]);

describe('durable orchestrations on the runner (real DurableClient over HTTP)', () => {
  it('fans out with Task.all and fans in the results, with one TaskScheduled per activity in id order', async () => {
    const r = await run('fanOut', 'fan-1', 4);
    expect(r.status).toBe('Completed');
    expect(r.output).toBe(2 + 4 + 6 + 8);
    expect(scheduled(r.history)).toEqual([0, 1, 2, 3].map((id) => ['TaskScheduled', id, 'double']));
    expect(r.history.filter((e) => e.EventType === 5).map((e) => e.TaskScheduledId).sort()).toEqual([0, 1, 2, 3]);
  });

  it('retries with exponential backoff: timer ids and delays as the host RetryInterceptor writes them', async () => {
    const r = await run('retrying', 'retry-1', { key: 'retry-1', failTimes: 2 });
    expect(r.status).toBe('Completed');
    expect(r.output).toEqual({ key: 'retry-1', attempts: 3 });
    expect(scheduled(r.history).map(([k, id]) => `${k}#${id}`)).toEqual(['TaskScheduled#0', 'TimerCreated#1', 'TaskScheduled#2', 'TimerCreated#3', 'TaskScheduled#4']);
    const timers = r.history.filter((e) => e.EventType === 10);
    const delays = timers.map((t) => Date.parse(t.FireAt as string) - Date.parse(t.Timestamp));
    expect(delays[0]).toBeGreaterThanOrEqual(1000);
    expect(delays[0]).toBeLessThan(1100);
    expect(delays[1]).toBeGreaterThanOrEqual(2000);
    expect(delays[1]).toBeLessThan(2100);
  });

  it('fails after the last attempt, after the back-compat dummy timer, with the activity error in the output', async () => {
    const r = await run('retryExhausted', 'retry-2');
    expect(r.status).toBe('Failed');
    expect(String(r.output)).toContain("Activity function 'alwaysFails' failed: [Permanent] thing cannot succeed");
    expect(scheduled(r.history).map(([k, id]) => `${k}#${id}`)).toEqual(['TaskScheduled#0', 'TimerCreated#1', 'TaskScheduled#2', 'TimerCreated#3']);
  });

  it('sleeps on a durable timer; the virtual clock jumps to it', async () => {
    const before = Date.now();
    const r = await run('sleeper', 'sleep-1', 10);
    expect(r.status).toBe('Completed');
    expect(Date.parse(r.output as string) - before).toBeGreaterThanOrEqual(10 * 60_000);
    expect(kinds(r.history)).toContain('TimerFired');
  });

  it('splits a 7-day timer into 3-day chunks (3 d + 3 d + 1 d) as the host does on Azure Storage', async () => {
    const r = await run('longSleeper', 'long-1');
    expect(r.output).toBe('woke');
    const timers = r.history.filter((e) => e.EventType === 10);
    const spans = timers.map((t) => Math.round((Date.parse(t.FireAt as string) - Date.parse(t.Timestamp)) / 3600_000 / 24));
    expect(spans).toEqual([3, 3, 1]);
  });

  it('runs a monitor loop with custom status until the job finishes', async () => {
    const r = await run('monitor', 'mon-1', { jobId: 'job-1', doneAfter: 3 });
    expect(r.output).toEqual({ status: 'Succeeded', polls: 3 });
    const status = await client.getStatus('mon-1');
    expect(status.customStatus).toEqual({ jobId: 'job-1', status: 'Succeeded', polls: 3 });
    expect(r.history.filter((e) => e.EventType === 10)).toHaveLength(2);
  });

  it('calls sub-orchestrations (named and host-named "{executionId}:{id}") and returns their outputs', async () => {
    const r = await run('parent', 'par-1', 'Ada');
    expect(r.output).toEqual(['Hello Ada!', 'Hello Ada again!']);
    const subs = r.history.filter((e) => e.EventType === 7);
    expect(subs[0]?.InstanceId).toBe('par-1:child');
    expect(subs[1]?.InstanceId).toMatch(/^[0-9a-f]{32}:1$/);
    expect((await client.getStatus('par-1:child')).output).toBe('Hello Ada!');
  });

  it('continues as new with fresh history until done', async () => {
    const r = await run('counter', 'count-1');
    expect(r.output).toEqual({ count: 3 });
    // Only the last execution's history remains: one ExecutionStarted with the carried-over state.
    const starts = r.history.filter((e) => e.EventType === 0);
    expect(starts).toHaveLength(1);
    expect(JSON.parse(starts[0]?.Input as string)).toEqual({ count: 2 });
  });

  it('waitForExternalEvent wins the race against a timer when the event arrives first', async () => {
    await client.startNew('approval', { instanceId: 'appr-1' });
    await runner.host.waitForIdle(() => (runner.host.get('appr-1')?.history.length ?? 0) > 0);
    await client.raiseEvent('appr-1', 'Approved', { by: 'ops' });
    await runner.waitForTerminal(['appr-1']);
    const s = await client.getStatus('appr-1');
    expect(s.runtimeStatus).toBe('Completed');
    expect(s.output).toEqual({ approved: { by: 'ops' } });
    expect(kinds(runner.host.get('appr-1')?.history ?? [])).not.toContain('TimerFired');
  });

  it('the timer wins the race when no event comes', async () => {
    const r = await run('approval', 'appr-2');
    expect(r.output).toBe('timed out');
  });

  it('a failing sub-orchestration reaches the parent as a catchable error', async () => {
    const r = await run('parentOfBroken', 'pob-1');
    expect(r.status).toBe('Completed');
    expect(r.output).toBe("caught: Orchestrator function 'broken' failed: [Broken] orchestrator gave up \n ");
    expect((await client.getStatus('pob-1:broken')).runtimeStatus).toBe('Failed');
  });

  it('carries exception properties as TaskFailed FailureDetails when the app registers a provider', async () => {
    const r = await run('catchCode', 'code-1');
    expect(r.output).toMatchObject({ name: 'TaskFailedError', code: 'HsmThrottled' });
    expect((r.output as { message: string }).message).toContain('[HsmThrottled] too many requests');
    const failed = r.history.find((e) => e.EventType === 6);
    expect(failed?.FailureDetails).toMatchObject({ ErrorType: 'Error', ErrorMessage: '[HsmThrottled] too many requests', Properties: { code: 'HsmThrottled' } });
  });

  it('runs at most maxConcurrentActivities activities at once', async () => {
    const r = await run('fanOutSlow', 'slow-1', 12);
    expect(r.output).toBe(3);
  });

  it('an orchestrator that throws ends Failed with its message', async () => {
    const r = await run('broken', 'broken-1');
    expect(r.status).toBe('Failed');
    expect(r.output).toBe("Orchestrator function 'broken' failed: [Broken] orchestrator gave up");
  });
});

describe('SDK/host divergences are detected, not silently mis-run', () => {
  it('durable-js #99: try/catch around a fail-fast Task.all with retries fails with an explanation', async () => {
    const r = await run('failFastAllWithRetry', 'div-99');
    expect(r.status).toBe('Failed');
    expect(String(r.output)).toMatch(/disagree on task id 2.*activity:sayHello.*timer.*#99/s);
  });

  it('durable-js #629: retryTimeoutInMilliseconds fails with an explanation instead of hanging', async () => {
    const r = await run('retryTimeout', 'div-629');
    expect(r.status).toBe('Failed');
    expect(String(r.output)).toContain('retryTimeoutInMilliseconds elapsed');
    expect(String(r.output)).toContain('#629');
  });
});

describe('durable management API', () => {
  it('refuses to start an id that is Pending or Running, and restarts a completed one', async () => {
    await client.startNew('approval', { instanceId: 'dup-1' });
    await expect(client.startNew('approval', { instanceId: 'dup-1' })).rejects.toThrow(/409.*already exists/);
    await client.terminate('dup-1', 'test over');
    const t = await client.getStatus('dup-1');
    expect(t.runtimeStatus).toBe('Terminated');
    expect(t.output).toBe('test over');
    await client.startNew('fanOut', { instanceId: 'dup-1', input: 1 });
    await runner.waitForTerminal(['dup-1']);
    expect((await client.getStatus('dup-1')).output).toBe(2);
  });

  it('lists by status, purges, and answers 404 for unknown ids', async () => {
    const completed = await client.getStatusBy({ runtimeStatus: [df.OrchestrationRuntimeStatus.Completed] });
    expect(completed.map((s) => s.instanceId)).toContain('fan-1');
    expect(completed.every((s) => s.runtimeStatus === 'Completed')).toBe(true);
    const purged = await client.purgeInstanceHistory('fan-1');
    expect(purged.instancesDeleted).toBe(1);
    await expect(client.getStatus('fan-1')).rejects.toThrow(/404/);
    await expect(client.raiseEvent('nope', 'x', 1)).rejects.toThrow(/No instance/);
  });

  it('refuses events for a finished instance and purges by status filter', async () => {
    // The host answers 410 Gone, which the DurableClient treats as a no-op.
    const gone = await fetch(`${runner.url}/runtime/webhooks/durabletask/instances/broken-1/raiseEvent/Approved`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '1' });
    expect(gone.status).toBe(410);
    await client.raiseEvent('broken-1', 'Approved', 1);
    expect(runner.host.get('broken-1')?.inbox).toEqual([]);
    const failedBefore = runner.host.list().filter((i) => i.runtimeStatus === 'Failed').length;
    expect(failedBefore).toBeGreaterThan(0);
    const result = await client.purgeInstanceHistoryBy({ runtimeStatus: [df.OrchestrationRuntimeStatus.Failed] });
    expect(result.instancesDeleted).toBe(failedBefore);
    expect(runner.host.list().filter((i) => i.runtimeStatus === 'Failed')).toHaveLength(0);
  });
});

describe('triggers', () => {
  it('serves HTTP triggers at /api/{route} with params and query', async () => {
    const res = await fetch(`${runner.url}/api/hello/Grace?q=1`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ greeting: 'Hello Grace', q: '1' });
    expect((await fetch(`${runner.url}/api/hello/Grace`, { method: 'DELETE' })).status).toBe(405);
  });

  it('an HTTP starter returns the check-status payload and the status URL works', async () => {
    const res = await fetch(`${runner.url}/api/orchestrators/fanOut/http-1`, { method: 'POST', body: '3' });
    expect(res.status).toBe(202);
    const payload = (await res.json()) as { id: string; statusQueryGetUri: string };
    expect(payload.id).toBe('http-1');
    await runner.waitForTerminal(['http-1']);
    const status = await fetch(payload.statusQueryGetUri);
    expect(status.status).toBe(200);
    expect(((await status.json()) as { output: unknown }).output).toBe(12);
  });

  it('answers the Event Grid validation handshake', async () => {
    const res = await fetch(`${runner.url}/runtime/webhooks/EventGrid?functionName=keyEvents`, {
      method: 'POST',
      headers: { 'aeg-event-type': 'SubscriptionValidation', 'content-type': 'application/json' },
      body: JSON.stringify([{ id: 'v1', eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent', subject: '', eventTime: new Date().toISOString(), dataVersion: '1', data: { validationCode: 'abc-123' } }]),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ validationResponse: 'abc-123' });
  });

  it('dedupes a duplicate Event Grid delivery by instance id, for both schemas', async () => {
    const data = { Id: 'https://kv/keys/k1/v1', VaultName: 'kv', ObjectType: 'Key', ObjectName: 'k1', Version: 'v1', NBF: null, EXP: 1 };
    const egEvent = { id: 'e1', topic: '/vaults/kv', subject: 'k1', eventType: 'Microsoft.KeyVault.KeyNearExpiry', eventTime: new Date().toISOString(), dataVersion: '1', metadataVersion: '1', data };
    const post = (body: unknown, contentType = 'application/json'): Promise<Response> =>
      fetch(`${runner.url}/runtime/webhooks/EventGrid?functionName=keyEvents`, { method: 'POST', headers: { 'aeg-event-type': 'Notification', 'content-type': contentType }, body: JSON.stringify(body) });
    expect((await post([egEvent])).status).toBe(202);
    await runner.waitForTerminal(['rotate-kv-k1-v1']);
    const first = runner.host.get('rotate-kv-k1-v1');
    const cloudEvent = { id: 'e1', source: '/vaults/kv', subject: 'k1', type: 'Microsoft.KeyVault.KeyNearExpiry', time: new Date().toISOString(), specversion: '1.0', data };
    expect((await post(cloudEvent, 'application/cloudevents+json')).status).toBe(202);
    await runner.waitForIdle();
    const again = runner.host.get('rotate-kv-k1-v1');
    expect(again?.executionId).toBe(first?.executionId);
    expect(JSON.parse(again?.output as string)).toBe('Hello k1!');
  });

  it('answers 500 when an invocation in the batch failed, so Event Grid redelivers', async () => {
    const ok = { id: 'e2', subject: 'a', eventType: 'X', eventTime: new Date().toISOString(), dataVersion: '1', data: { VaultName: 'kv', ObjectName: 'a', Version: '1' } };
    const bad = { ...ok, id: 'e3', data: { VaultName: 'kv', ObjectName: 'explode', Version: '1' } };
    const res = await fetch(`${runner.url}/runtime/webhooks/EventGrid?functionName=keyEvents`, {
      method: 'POST',
      headers: { 'aeg-event-type': 'Notification', 'content-type': 'application/json' },
      body: JSON.stringify([ok, bad]),
    });
    expect(res.status).toBe(500);
    await runner.waitForIdle();
    expect(runner.host.get('rotate-kv-a-1')).toBeDefined();
    const missingHeader = await fetch(`${runner.url}/runtime/webhooks/EventGrid?functionName=keyEvents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' });
    expect(missingHeader.status).toBe(400);
    const unknown = await fetch(`${runner.url}/runtime/webhooks/EventGrid?functionName=nope`, { method: 'POST', headers: { 'aeg-event-type': 'Notification', 'content-type': 'application/json' }, body: '[]' });
    expect(unknown.status).toBe(404);
  });

  it('a timer trigger starts its singleton through the durable client exactly once', async () => {
    expect(await runner.fireTimer('nightly')).toBe(true);
    await runner.waitForIdle();
    expect(await runner.fireTimer('nightly')).toBe(true);
    await runner.waitForIdle();
    const nightly = runner.host.list().filter((i) => i.instanceId.startsWith('nightly-'));
    expect(nightly).toHaveLength(1);
    expect(nightly[0]?.runtimeStatus).toBe('Completed');
    expect(nightly[0]?.instanceId).toMatch(/^nightly-\d{4}-\d{2}-\d{2}$/);
  });
});
