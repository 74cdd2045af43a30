import { request as httpRequest } from 'node:http';
import path from 'node:path';
import { AzureKeyCredential, EventGridPublisherClient } from '@azure/eventgrid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunnerLogger } from '../../runner/logger.js';
import { startRunner, type Runner } from '../../runner/startRunner.js';
import { durableClientFor } from '../runner/durableClientFor.js';

// The attacks a web page in the developer's browser (or a careless local caller) can make on the local runner.
const appDir = path.resolve(__dirname, '../fixtures/durable-app');
const lines: string[] = [];
const logger: RunnerLogger = { lifecycle: () => undefined, functionLog: () => undefined, system: (m) => lines.push(m) };
let runner: Runner;

beforeAll(async () => {
  runner = await startRunner({ appDir, port: 0, clock: 'virtual', settingsFile: path.join(appDir, 'fixture.settings.json'), log: logger, scheduleTimers: false, startupTimers: false });
});

afterAll(async () => {
  await runner?.close();
});

const durable = (p: string): string => `${runner.url}/runtime/webhooks/durabletask${p}`;
const json = { 'content-type': 'application/json' };

/** The response's error, and the runner's log line for it (every refusal is logged with its reason). */
async function refused(res: Response, status: number, code: string): Promise<string> {
  expect(res.status).toBe(status);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.message).toMatch(/^Refused: /);
  const logged = lines.find((l) => l.includes(`(${status} ${code})`) && l.includes(body.error.message.slice('Refused: '.length)));
  expect(logged, `log lines: ${lines.join('\n')}`).toBeDefined();
  return body.error.message;
}

describe('cross-site requests', () => {
  it('a text/plain POST from a foreign Origin cannot start an orchestration', async () => {
    const res = await fetch(durable('/orchestrators/fanOut/csrf-1'), { method: 'POST', headers: { origin: 'https://evil.example', 'content-type': 'text/plain' }, body: '3' });
    expect(await refused(res, 403, 'CrossSiteRequestRefused')).toContain('Origin "https://evil.example" is not this runner');
    await runner.waitForIdle();
    expect(runner.host.get('csrf-1')).toBeUndefined();
  });

  it('Sec-Fetch-Site cross-site or same-site is refused, even with a JSON body', async () => {
    for (const site of ['cross-site', 'same-site']) {
      const res = await fetch(durable(`/orchestrators/fanOut/csrf-${site}`), { method: 'POST', headers: { 'sec-fetch-site': site, ...json }, body: '3' });
      expect(await refused(res, 403, 'CrossSiteRequestRefused')).toContain(`Sec-Fetch-Site is "${site}"`);
    }
    const admin = await fetch(`${runner.url}/admin/functions/nightly`, { method: 'POST', headers: { 'sec-fetch-site': 'cross-site', ...json }, body: '{}' });
    await refused(admin, 403, 'CrossSiteRequestRefused');
    const grid = await fetch(`${runner.url}/runtime/webhooks/EventGrid?functionName=keyEvents`, { method: 'POST', headers: { origin: 'null', 'aeg-event-type': 'Notification', ...json }, body: '[]' });
    await refused(grid, 403, 'CrossSiteRequestRefused');
    await runner.waitForIdle();
    expect(runner.host.list().filter((i) => i.instanceId.startsWith('csrf-') || i.instanceId.startsWith('nightly-'))).toEqual([]);
  });

  it("app HTTP functions refuse cross-site callers (any method) but keep accepting the app's own content types", async () => {
    const start = await fetch(`${runner.url}/api/orchestrators/fanOut/app-csrf`, { method: 'POST', headers: { 'sec-fetch-site': 'cross-site', 'content-type': 'text/plain' }, body: '2' });
    await refused(start, 403, 'CrossSiteRequestRefused');
    const read = await fetch(`${runner.url}/api/hello/Eve`, { headers: { origin: 'https://evil.example' } });
    await refused(read, 403, 'CrossSiteRequestRefused');
    await runner.waitForIdle();
    expect(runner.host.get('app-csrf')).toBeUndefined();
    // The same text/plain request made directly (no browser) is the app's business: it starts the orchestration.
    const direct = await fetch(`${runner.url}/api/orchestrators/fanOut/app-direct`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '2' });
    expect(direct.status).toBe(202);
    await runner.waitForTerminal(['app-direct']);
    expect(runner.host.get('app-direct')?.output).toBe('6');
  });

  it("the runner's own origin and same-origin requests are served", async () => {
    const res = await fetch(durable('/orchestrators/fanOut/own-origin'), {
      method: 'POST',
      headers: { origin: runner.url.replace('127.0.0.1', 'localhost'), 'sec-fetch-site': 'same-origin', ...json },
      body: '1',
    });
    expect(res.status).toBe(202);
    await runner.waitForTerminal(['own-origin']);
    expect(runner.host.get('own-origin')?.runtimeStatus).toBe('Completed');
  });

  it('a page that rebinds its own DNS name to 127.0.0.1 (foreign Host header) is refused even for reads', async () => {
    const port = new URL(runner.url).port;
    const status = await new Promise<{ code: number; body: string }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/runtime/webhooks/durabletask/instances/own-origin', headers: { host: `evil.example:${port}` } }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(status.code).toBe(403);
    expect(JSON.parse(status.body)).toMatchObject({ error: { code: 'ForeignHostRefused' } });
  });

  it('serves a tunnel host the developer named with allowedHosts (--allow-host)', async () => {
    const tunnel = await startRunner({ appDir, port: 0, clock: 'virtual', settingsFile: path.join(appDir, 'fixture.settings.json'), log: false, scheduleTimers: false, startupTimers: false, allowedHosts: ['my-tunnel.example'] });
    try {
      const port = new URL(tunnel.url).port;
      const get = (host: string): Promise<number> =>
        new Promise((resolve, reject) => {
          const req = httpRequest({ host: '127.0.0.1', port, path: '/admin/host/status', headers: { host } }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', reject);
          req.end();
        });
      expect(await get('my-tunnel.example')).toBe(200);
      expect(await get('other.example')).toBe(403);
    } finally {
      await tunnel.close();
    }
  });
});

describe('non-JSON bodies on state-changing runner routes', () => {
  it('refuses text/plain, form and missing content types on the durable API, /admin/functions and the Event Grid webhook', async () => {
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', undefined]) {
      const headers: Record<string, string> = contentType ? { 'content-type': contentType } : {};
      const body = contentType === undefined ? undefined : '1';
      await refused(await fetch(durable('/orchestrators/fanOut/plain-1'), { method: 'POST', headers, body }), 415, 'UnsupportedMediaType');
      await refused(await fetch(`${runner.url}/admin/functions/nightly`, { method: 'POST', headers, body }), 415, 'UnsupportedMediaType');
      const grid = await fetch(`${runner.url}/runtime/webhooks/EventGrid?functionName=keyEvents`, { method: 'POST', headers: { ...headers, 'aeg-event-type': 'Notification' }, body: '[]' });
      await refused(grid, 415, 'UnsupportedMediaType');
    }
    await runner.waitForIdle();
    expect(runner.host.get('plain-1')).toBeUndefined();
    expect(runner.host.list().filter((i) => i.instanceId.startsWith('nightly-'))).toEqual([]);
  });

  it('the real DurableClient still works end to end (start, event, status, terminate, purge)', async () => {
    const client = durableClientFor(runner.durableClientData);
    await client.startNew('approval', { instanceId: 'client-1' });
    await runner.host.waitForIdle(() => (runner.host.get('client-1')?.history.length ?? 0) > 0);
    await client.raiseEvent('client-1', 'Approved', { by: 'ops' });
    await runner.waitForTerminal(['client-1']);
    expect((await client.getStatus('client-1')).output).toEqual({ approved: { by: 'ops' } });
    await client.startNew('approval', { instanceId: 'client-2' });
    await client.terminate('client-2', 'enough');
    expect((await client.getStatus('client-2')).runtimeStatus).toBe('Terminated');
    expect((await client.purgeInstanceHistory('client-2')).instancesDeleted).toBe(1);
  });

  it('accepts deliveries as @azure/eventgrid builds them: Event Grid schema and CloudEvents batches', async () => {
    const endpoint = `${runner.url}/runtime/webhooks/EventGrid?functionName=keyEvents`;
    // Event Grid adds aeg-event-type when it delivers; the publisher SDK builds the body and its content type.
    const seen: Array<{ contentType: string | undefined; status?: number }> = [];
    type Req = { headers: { set(n: string, v: string): void; get(n: string): string | undefined } };
    const delivery = {
      policy: {
        name: 'aegEventType',
        sendRequest(req: Req, next: (r: Req) => Promise<unknown>) {
          req.headers.set('aeg-event-type', 'Notification');
          seen.push({ contentType: req.headers.get('content-type') });
          return next(req);
        },
      },
      position: 'perCall' as const,
    };
    // A topic answers 200, a webhook 202 as the Functions host does: the publisher calls that an error.
    const accepted202 = (e: { statusCode?: number }): void => {
      if (e.statusCode !== 202) throw e as Error;
      (seen.at(-1) as { status?: number }).status = e.statusCode;
    };
    const data = (version: string): Record<string, unknown> => ({ Id: `https://kv/keys/sdk/${version}`, VaultName: 'kv', ObjectType: 'Key', ObjectName: 'sdk', Version: version, NBF: null, EXP: 1 });
    const options = { allowInsecureConnection: true, additionalPolicies: [delivery] as never };
    const eg = new EventGridPublisherClient(endpoint, 'EventGrid', new AzureKeyCredential('unused'), options);
    await eg.send([{ eventType: 'Microsoft.KeyVault.KeyNearExpiry', subject: 'sdk', dataVersion: '1', data: data('v1') }]).catch(accepted202);
    const ce = new EventGridPublisherClient(endpoint, 'CloudEvent', new AzureKeyCredential('unused'), options);
    await ce.send([{ type: 'Microsoft.KeyVault.KeyNearExpiry', source: '/vaults/kv', subject: 'sdk', data: data('v2') }]).catch(accepted202);
    expect(seen).toEqual([
      { contentType: 'application/json', status: 202 },
      { contentType: 'application/cloudevents-batch+json; charset=utf-8', status: 202 },
    ]);
    await runner.waitForTerminal(['rotate-kv-sdk-v1', 'rotate-kv-sdk-v2']);
    expect(runner.host.get('rotate-kv-sdk-v1')?.runtimeStatus).toBe('Completed');
    expect(runner.host.get('rotate-kv-sdk-v2')?.runtimeStatus).toBe('Completed');
  });

  it('answers the validation handshake as Event Grid sends it (CloudEvents schema too)', async () => {
    const res = await fetch(`${runner.url}/runtime/webhooks/EventGrid?functionName=keyEvents`, {
      method: 'POST',
      headers: { 'aeg-event-type': 'SubscriptionValidation', 'content-type': 'application/cloudevents+json; charset=utf-8' },
      body: JSON.stringify({ id: 'v', source: '/x', type: 'Microsoft.EventGrid.SubscriptionValidationEvent', specversion: '1.0', data: JSON.stringify({ validationCode: 'ce-123' }) }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ validationResponse: 'ce-123' });
  });
});

describe('body size', () => {
  const big = JSON.stringify({ pad: 'x'.repeat(1024 * 1024) });

  it('refuses a body over 1 MiB with 413 before starting anything, on runner and app routes', async () => {
    const res = await fetch(durable('/orchestrators/fanOut/big-1'), { method: 'POST', headers: json, body: big });
    expect(await refused(res, 413, 'PayloadTooLarge')).toContain('exceeds the runner\'s limit of 1048576 bytes');
    const app = await fetch(`${runner.url}/api/orchestrators/fanOut/big-2`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: big });
    await refused(app, 413, 'PayloadTooLarge');
    await runner.waitForIdle();
    expect(runner.host.get('big-1')).toBeUndefined();
    expect(runner.host.get('big-2')).toBeUndefined();
  });

  it('refuses a chunked body (no Content-Length) as soon as it grows past the limit', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(256 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        // Far more than the limit if the runner kept reading: it must answer long before the end.
        if (sent++ < 64) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await fetch(durable('/orchestrators/fanOut/big-3'), { method: 'POST', headers: json, body: stream, duplex: 'half' } as RequestInit);
    expect(await refused(res, 413, 'PayloadTooLarge')).toContain('bytes so far');
    await runner.waitForIdle();
    expect(runner.host.get('big-3')).toBeUndefined();
  });
});
