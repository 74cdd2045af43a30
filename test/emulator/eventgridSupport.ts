/**
 * Test helpers for the Event Grid emulator tests: a webhook subscriber on port 0 that answers the handshake
 * (Event Grid and CloudEvents styles) and records every request, and a raw HTTPS POST that trusts the CA.
 */
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";

export interface ReceivedRequest {
  method: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface Subscriber {
  url: string;
  received: ReceivedRequest[];
  /** Notification deliveries only (handshakes excluded), parsed. */
  notifications(): { headers: http.IncomingHttpHeaders; events: Record<string, unknown>[] }[];
  /** Status to answer notifications with (default 200). */
  failWith(status: number | undefined): void;
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startSubscriber(): Promise<Subscriber> {
  const received: ReceivedRequest[] = [];
  let failStatus: number | undefined;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      received.push({ method: req.method ?? "", headers: req.headers, body });
      if (req.method === "OPTIONS") {
        res.writeHead(200, { "webhook-allowed-origin": String(req.headers["webhook-request-origin"] ?? "") });
        return res.end();
      }
      if (req.headers["aeg-event-type"] === "SubscriptionValidation") {
        const [event] = JSON.parse(body) as { data: { validationCode: string } }[];
        res.writeHead(200, { "content-type": "application/json" });
        return res.end(JSON.stringify({ validationResponse: event?.data.validationCode }));
      }
      res.writeHead(failStatus ?? 200);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/api/updates`,
    received,
    notifications: () =>
      received
        .filter((r) => r.method === "POST" && r.headers["aeg-event-type"] === "Notification")
        .map((r) => {
          const parsed = JSON.parse(r.body) as Record<string, unknown> | Record<string, unknown>[];
          return { headers: r.headers, events: Array.isArray(parsed) ? parsed : [parsed] };
        }),
    failWith: (status) => {
      failStatus = status;
    },
    waitFor: async (predicate, timeoutMs = 15_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; received ${received.length} request(s)`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export function httpsRequest(
  url: string,
  init: { method: string; ca: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: init.method, ca: init.ca, headers: init.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.end(init.body);
  });
}
