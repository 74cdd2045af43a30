/**
 * The Functions host's key check, in front of the local runner (which, like Core Tools, checks no keys): each
 * `/api/…` function accepts its own function key or an app (host) key, the Durable extension's webhooks accept
 * only the system key or the master key, `/admin/…` only the master key — the Azure rules for
 * `authLevel: "function"` functions, extension webhooks and admin endpoints. Records every request and the key
 * it carried, so a test can show what a client needed and where it went.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface GatewayKeys {
  /** Function name → its function key. */
  functionKeys: Record<string, string>;
  /** An app (host) key: every function, no webhooks, no admin. */
  hostKey: string;
  systemKey: string;
  masterKey: string;
}

export interface FunctionKeyGateway {
  url: string;
  requests: Array<{ method: string; path: string; key?: string; status: number }>;
  close(): Promise<void>;
}

/** Route prefix (below /api/) → function name, for the app's HTTP functions. */
export type RouteFunctions = Array<{ method: string; route: RegExp; functionName: string }>;

export async function startFunctionKeyGateway(target: string, keys: GatewayKeys, routes: RouteFunctions): Promise<FunctionKeyGateway> {
  const requests: FunctionKeyGateway["requests"] = [];
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://gateway");
      const key = keyOf(req, url);
      const allowed = allowedKeys(req.method ?? "GET", url.pathname, keys, routes);
      const ok = key !== undefined && allowed.includes(key);
      const body = await readAll(req);
      if (!ok) {
        requests.push({ method: req.method ?? "", path: url.pathname, ...(key === undefined ? {} : { key }), status: 401 });
        res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ error: "Unauthorized" }));
        return;
      }
      url.searchParams.delete("code");
      const upstream = await fetch(`${target}${url.pathname}${url.search}`, {
        method: req.method ?? "GET",
        headers: { "content-type": req.headers["content-type"] ?? "application/json" },
        ...(body.length > 0 ? { body } : {}),
      });
      const text = await upstream.text();
      requests.push({ method: req.method ?? "", path: url.pathname, key, status: upstream.status });
      const headers: Record<string, string> = { "content-type": upstream.headers.get("content-type") ?? "application/json" };
      for (const h of ["location", "retry-after", "content-security-policy", "cache-control", "x-content-type-options", "referrer-policy"]) {
        const v = upstream.headers.get(h);
        if (v !== null) headers[h] = v;
      }
      res.writeHead(upstream.status, headers).end(text);
    })().catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(502).end(String(e));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function keyOf(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers["x-functions-key"];
  if (typeof header === "string" && header !== "") return header;
  return url.searchParams.get("code") ?? undefined;
}

function allowedKeys(method: string, path: string, keys: GatewayKeys, routes: RouteFunctions): string[] {
  if (path.startsWith("/runtime/webhooks/durabletask/")) return [keys.systemKey, keys.masterKey];
  if (path.startsWith("/admin/")) return [keys.masterKey];
  if (path.startsWith("/api/")) {
    const fn = routes.find((r) => r.method === method && r.route.test(path.slice("/api/".length)));
    const own = fn === undefined ? undefined : keys.functionKeys[fn.functionName];
    return [...(own === undefined ? [] : [own]), keys.hostKey, keys.masterKey];
  }
  return [keys.masterKey];
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
