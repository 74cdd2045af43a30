import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DurableHostError, type DurableHost } from './durableHost.js';
import type { FunctionInvoker } from './functionInvoker.js';
import { eventTypeName } from './historyEvents.js';
import { compileRoute, type CompiledRoute } from './httpRoutes.js';
import type { InstanceRecord, InstanceStatus, RuntimeStatus } from './instanceStore.js';
import type { RunnerLogger } from './logger.js';
import { crossSiteRefusal, defaultMaxBodyBytes, isRefusal, jsonBodyRefusal, readBodyCapped, type Refusal } from './requestGuard.js';

export const taskHubName = 'TestHubName';
export const durableRoutePrefix = '/runtime/webhooks/durabletask';

interface HttpFunction {
  name: string;
  route: CompiledRoute;
  methods: string[] | undefined;
}

export interface RunnerHttpServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/**
 * The runner's HTTP surface, on the routes the Functions host serves: HTTP triggers under `/api/`,
 * Event Grid at `/runtime/webhooks/EventGrid`, the Durable management/RPC API under
 * `/runtime/webhooks/durabletask/` (the DurableClient's `rpcBaseUrl` points there) and
 * `POST /admin/functions/{name}` to run a non-HTTP function by hand, as Core Tools does.
 */
export async function startHttpServer(opts: {
  port: number;
  invoker: FunctionInvoker;
  host: DurableHost;
  logger: RunnerLogger;
  /** Larger bodies get 413 on every route (default 1 MiB). */
  maxBodyBytes?: number;
  /** Host names served besides loopback ones (a tunnel the developer set up). */
  allowedHosts?: readonly string[];
}): Promise<RunnerHttpServer> {
  const { invoker, host, logger } = opts;
  const maxBodyBytes = opts.maxBodyBytes ?? defaultMaxBodyBytes;
  const allowedHosts = (opts.allowedHosts ?? []).map((h) => h.toLowerCase());
  const httpFunctions: HttpFunction[] = [];
  for (const [name, fn] of invoker.functions) {
    const trigger = Object.values(fn.metadata.bindings).find((b) => b.type === 'httpTrigger');
    if (!trigger) continue;
    const route = typeof trigger.route === 'string' && trigger.route !== '' ? trigger.route : name;
    const methods = Array.isArray(trigger.methods) ? (trigger.methods as string[]).map((m) => m.toUpperCase()) : undefined;
    httpFunctions.push({ name, route: compileRoute(route), methods });
  }
  let baseUrl = '';
  let port = 0;

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.system(`request ${req.method} ${req.url} failed: ${(err as Error).stack ?? String(err)}`);
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'InternalError', message: (err as Error).message } });
      else res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', baseUrl);
    const path = url.pathname;
    const method = (req.method ?? 'GET').toUpperCase();
    const route = routeKind(path, method);
    const refuse = (r: Refusal): void => {
      logger.system(`refused ${method} ${path} (${r.status} ${r.code}): ${r.message}`);
      // The rest of a refused body is never read: close the connection instead of draining it.
      sendJson(res, r.status, { error: { code: r.code, message: `Refused: ${r.message}` } }, { Connection: 'close' });
    };
    // Reads cannot be made cross-site (no CORS headers are ever sent), except from an app's own HTTP functions,
    // whose GET handlers may well change state.
    const changesState = !['GET', 'HEAD', 'OPTIONS'].includes(method) || route === 'app';
    const crossSite = crossSiteRefusal(req, port, allowedHosts);
    if (crossSite && (changesState || crossSite.code === 'ForeignHostRefused')) return refuse(crossSite);
    if (route !== 'app' && route !== 'other' && ['POST', 'PUT', 'PATCH'].includes(method)) {
      const notJson = jsonBodyRefusal(req);
      if (notJson) return refuse(notJson);
    }
    const body = await readBodyCapped(req, maxBodyBytes);
    if (isRefusal(body)) return refuse(body);
    if (route === 'eventGrid') return eventGrid(req, res, url, body);
    if (route === 'durable') return durable(req, res, url, body);
    if (route === 'app') return httpTrigger(req, res, url, body);
    if (route === 'admin') return adminInvoke(res, decodeURIComponent(path.slice('/admin/functions/'.length)), body);
    if (path === '/admin/host/status') return sendJson(res, 200, { state: 'Running' });
    sendJson(res, 404, { error: { code: 'NotFound', message: `No function or runtime endpoint serves ${req.method} ${path}.` } });
  }

  async function httpTrigger(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): Promise<void> {
    const sub = url.pathname.slice('/api'.length) || '/';
    const method = (req.method ?? 'GET').toUpperCase();
    let routeMatched = false;
    for (const fn of httpFunctions) {
      const params = fn.route.match(sub);
      if (!params) continue;
      routeMatched = true;
      if (fn.methods && !fn.methods.includes(method)) continue;
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      const query: Record<string, string> = {};
      for (const [k, v] of url.searchParams) query[k] = v;
      const http = { method, url: url.href, headers, query, params, body: body.length > 0 ? { bytes: body } : undefined };
      const result = await invoker.invoke({ functionName: fn.name, trigger: { http }, reason: `This function was programmatically called via the host APIs.`, wantResponse: true });
      if (!result.ok) {
        sendJson(res, 500, { error: { code: 'FunctionFailed', message: `Function '${fn.name}' failed: ${(result.error as Error)?.message ?? String(result.error)}` } });
        return;
      }
      return writeHttpResult(res, result.response);
    }
    sendJson(res, routeMatched ? 405 : 404, { error: { code: routeMatched ? 'MethodNotAllowed' : 'NotFound', message: `No HTTP trigger serves ${method} ${url.pathname}.` } });
  }

  async function adminInvoke(res: ServerResponse, name: string, body: Buffer): Promise<void> {
    const type = invoker.triggerType(name);
    if (!type) return sendJson(res, 404, { error: { code: 'NotFound', message: `No function named '${name}'.` } });
    let input: unknown = null;
    if (body.length > 0) {
      const parsed = safeJson(body.toString('utf8')) as { input?: unknown } | undefined;
      input = parsed?.input ?? null;
    }
    const trigger = typeof input === 'string' ? { string: input } : { json: JSON.stringify(input) };
    const result = await invoker.invoke({ functionName: name, trigger, reason: 'This function was programmatically called via the host APIs.' });
    sendJson(res, result.ok ? 202 : 500, result.ok ? {} : { error: { code: 'FunctionFailed', message: (result.error as Error)?.message ?? String(result.error) } });
  }

  async function eventGrid(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): Promise<void> {
    if (req.method === 'OPTIONS') {
      // CloudEvents webhook abuse protection handshake.
      const origin = req.headers['webhook-request-origin'];
      res.writeHead(200, { 'WebHook-Allowed-Origin': typeof origin === 'string' ? origin : '*', 'WebHook-Allowed-Rate': '*' });
      return void res.end();
    }
    const functionName = url.searchParams.get('functionName') ?? '';
    if (invoker.triggerType(functionName) !== 'eventGridTrigger') {
      return sendJson(res, 404, { error: { code: 'NotFound', message: `No Event Grid triggered function named '${functionName}': pass ?functionName=<an eventGrid function>.` } });
    }
    const kind = String(req.headers['aeg-event-type'] ?? '');
    const parsed = safeJson(body.toString('utf8'));
    if (parsed === undefined || parsed === null || typeof parsed !== 'object') {
      return sendJson(res, 400, { error: { code: 'BadRequest', message: 'The Event Grid request body must be a JSON event or an array of events.' } });
    }
    const events = (Array.isArray(parsed) ? parsed : [parsed]) as Array<Record<string, unknown>>;
    if (kind === 'SubscriptionValidation') {
      const first = events[0] ?? {};
      let data = first.data;
      if (typeof data === 'string') data = safeJson(data); // CloudEvents carry data double-encoded
      const code = (data as { validationCode?: unknown } | undefined)?.validationCode;
      if (typeof code !== 'string') return sendJson(res, 400, { error: { code: 'BadRequest', message: 'SubscriptionValidation event has no data.validationCode.' } });
      return sendJson(res, 200, { validationResponse: code });
    }
    if (kind === 'Unsubscribe') return sendJson(res, 202, {});
    if (kind !== 'Notification') {
      return sendJson(res, 400, { error: { code: 'BadRequest', message: `Missing or unknown aeg-event-type header "${kind}": expected SubscriptionValidation, Notification or Unsubscribe.` } });
    }
    let failed = 0;
    for (const event of events) {
      const result = await invoker.invoke({ functionName, trigger: { json: JSON.stringify(event) }, reason: `EventGrid trigger fired at ${new Date().toISOString()}` });
      if (!result.ok) failed++;
    }
    // 500 makes Event Grid redeliver the whole batch, as the host's HttpRequestProcessor does.
    if (failed > 0) return sendJson(res, 500, { error: { code: 'FunctionFailed', message: `${failed} of ${events.length} invocations of '${functionName}' failed.` } });
    sendJson(res, 202, {});
  }

  async function durable(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): Promise<void> {
    const rest = url.pathname.slice(durableRoutePrefix.length + 1).split('/').map(decodeURIComponent);
    const method = req.method ?? 'GET';
    try {
      if (rest[0] === 'orchestrators' && method === 'POST' && rest[1]) {
        const text = body.toString('utf8').trim();
        // durable-functions' DurableClient posts the JSON text "" when startNew has no input (its empty string,
        // JSON-encoded on the way); the orchestration then sees null from getInput(), as on Azure.
        const noInput = text === '' || text === '""';
        const input = noInput ? undefined : safeJson(text);
        if (!noInput && input === undefined) throw new DurableHostError(400, 'The request body is not valid JSON.');
        const inst = host.startNew(rest[1], rest[2] || undefined, input);
        await host.durable();
        return sendJson(res, 202, managementPayload(inst.instanceId), { Location: statusUrl(inst.instanceId) });
      }
      if (rest[0] === 'instances') {
        const id = rest[1] ?? '';
        if (id === '') {
          const filtered = filterInstances(host.list(), url.searchParams);
          if (method === 'GET') {
            const records = filtered.map((i) => host.get(i.instanceId)).filter((r): r is InstanceRecord => r !== undefined);
            return sendJson(res, 200, records.map((r) => statusBody(r, url.searchParams)));
          }
          if (method === 'DELETE') {
            let deleted = 0;
            for (const i of filtered) if (host.purge(i.instanceId)) deleted++;
            await host.durable();
            return sendJson(res, deleted > 0 ? 200 : 404, { instancesDeleted: deleted });
          }
        } else if (rest.length === 2) {
          if (method === 'GET') {
            const inst = host.get(id);
            if (!inst) return sendJson(res, 404, { error: { code: 'NotFound', message: `No instance with id '${id}' was found.` } });
            const code = ['Running', 'Pending', 'ContinuedAsNew'].includes(inst.runtimeStatus) ? 202 : 200;
            return sendJson(res, code, statusBody(inst, url.searchParams));
          }
          if (method === 'DELETE') {
            const purged = host.purge(id);
            await host.durable();
            return purged ? sendJson(res, 200, { instancesDeleted: 1 }) : sendJson(res, 404, { instancesDeleted: 0 });
          }
        } else if (rest[2] === 'raiseEvent' && rest[3] && method === 'POST') {
          const text = body.toString('utf8');
          host.raiseEvent(id, rest[3], text.trim() === '' ? null : safeJson(text));
          await host.durable();
          return sendJson(res, 202, {});
        } else if (rest[2] === 'terminate' && method === 'POST') {
          host.terminate(id, url.searchParams.get('reason') ?? '');
          await host.durable();
          return sendJson(res, 202, {});
        } else if (['suspend', 'resume', 'rewind', 'restart'].includes(rest[2] ?? '')) {
          return sendJson(res, 501, { error: { code: 'NotImplemented', message: `${rest[2]} is not emulated by the offline runner.` } });
        }
      }
      sendJson(res, 404, { error: { code: 'NotFound', message: `No durable endpoint serves ${method} ${url.pathname}.` } });
    } catch (err) {
      if (err instanceof DurableHostError) return sendJson(res, err.status, { error: { code: 'DurableError', message: err.message }, message: err.message });
      throw err;
    }
  }

  const statusUrl = (id: string): string => `${baseUrl}${durableRoutePrefix}/instances/${encodeURIComponent(id)}?taskHub=${taskHubName}&connection=Storage&code=`;
  function managementPayload(id: string): Record<string, string> {
    const base = `${baseUrl}${durableRoutePrefix}/instances/${encodeURIComponent(id)}`;
    const q = `taskHub=${taskHubName}&connection=Storage&code=`;
    return {
      id,
      statusQueryGetUri: `${base}?${q}`,
      sendEventPostUri: `${base}/raiseEvent/{eventName}?${q}`,
      terminatePostUri: `${base}/terminate?reason={text}&${q}`,
      rewindPostUri: `${base}/rewind?reason={text}&${q}`,
      purgeHistoryDeleteUri: `${base}?${q}`,
      restartPostUri: `${base}/restart?${q}`,
      suspendPostUri: `${base}/suspend?reason={text}&${q}`,
      resumePostUri: `${base}/resume?reason={text}&${q}`,
    };
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new Error(`Port ${opts.port} on 127.0.0.1 is already in use: stop the other process or pass --port 0 for an ephemeral port.`) : err),
    );
    server.listen(opts.port, '127.0.0.1', () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  baseUrl = `http://127.0.0.1:${port}`;
  return {
    server,
    url: baseUrl,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

type RouteKind = 'eventGrid' | 'durable' | 'app' | 'admin' | 'other';

function routeKind(path: string, method: string): RouteKind {
  if (path.toLowerCase() === '/runtime/webhooks/eventgrid') return 'eventGrid';
  if (path.startsWith(`${durableRoutePrefix}/`)) return 'durable';
  if (path.startsWith('/api/') || path === '/api') return 'app';
  if (/^\/admin\/functions\/[^/]+$/.test(path) && method === 'POST') return 'admin';
  return 'other';
}

function statusBody(inst: InstanceRecord, q: URLSearchParams): Record<string, unknown> {
  const parse = (s: string | null): unknown => (s === null ? null : safeJson(s) ?? s);
  const body: Record<string, unknown> = {
    name: inst.name,
    instanceId: inst.instanceId,
    runtimeStatus: inst.runtimeStatus,
    input: q.get('showInput') === 'false' ? null : parse(inst.input),
    customStatus: inst.customStatus ?? null,
    output: parse(inst.output),
    createdTime: inst.createdTime,
    lastUpdatedTime: inst.lastUpdatedTime,
  };
  if (q.get('showHistory') === 'true') {
    const withOutput = q.get('showHistoryOutput') === 'true';
    const history = inst.history.map((e) => {
      const out: Record<string, unknown> = { ...e, EventType: eventTypeName(e.EventType) };
      if (!withOutput) delete out.Result;
      return out;
    });
    body.historyEvents = history;
    body.history = history;
  }
  return body;
}

function filterInstances(all: InstanceStatus[], q: URLSearchParams): InstanceStatus[] {
  const statuses = (q.get('runtimeStatus') ?? '').split(',').filter(Boolean) as RuntimeStatus[];
  const from = q.get('createdTimeFrom');
  const to = q.get('createdTimeTo');
  return all.filter(
    (i) =>
      (statuses.length === 0 || statuses.includes(i.runtimeStatus)) &&
      (!from || Date.parse(i.createdTime) >= Date.parse(from)) &&
      (!to || Date.parse(i.createdTime) <= Date.parse(to)),
  );
}

function writeHttpResult(res: ServerResponse, response: { returnValue?: unknown; outputData?: Array<{ name: string; data: unknown }> } | undefined): void {
  const fromOutput = response?.outputData?.find((o) => (o.data as { http?: unknown })?.http)?.data;
  const typed = ((response?.returnValue as { http?: unknown } | undefined)?.http ? response?.returnValue : fromOutput) as
    | { http: { statusCode?: string; headers?: Record<string, string>; body?: { bytes?: Uint8Array; string?: string } } }
    | undefined;
  if (!typed) {
    res.writeHead(204);
    return void res.end();
  }
  const status = Number(typed.http.statusCode ?? 200) || 200;
  const headers = typed.http.headers ?? {};
  const b = typed.http.body;
  const payload = b?.bytes ? Buffer.from(b.bytes) : b?.string !== undefined ? Buffer.from(b.string) : Buffer.alloc(0);
  res.writeHead(status, headers);
  res.end(payload);
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
