import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { handleEventGridControl } from "./controlRoutes";
import type { DeliveryEngine } from "./deliveryEngine";
import { EventGridError, eventGridErrors } from "./eventGridError";
import { MAX_REQUEST_BYTES } from "./eventRecord";
import { topicResourceId } from "./resourceIds";
import { verifySasToken } from "./sasToken";
import { validatePublish } from "./validatePublish";

export const TOPIC_EVENTS_PATH = "/api/events";

export interface TopicServerOptions {
  readonly name: string;
  /** 0 = ephemeral. */
  readonly port: number;
  readonly host?: string;
  readonly tls: { readonly key: string | Buffer; readonly cert: string | Buffer };
  /** The topic access key (base64), checked against `aeg-sas-key` and used to verify `aeg-sas-token`. */
  readonly accessKey: string;
  readonly engine: DeliveryEngine;
  /** Emulator clock, epoch ms (SAS expiry, publish time). */
  readonly now?: () => number;
  /**
   * Optional Entra ID check for `Authorization: Bearer` (managed identity in Azure). Returns undefined when the
   * token is valid for audience https://eventgrid.azure.net, else the reason. Without it bearer tokens are refused.
   */
  readonly verifyBearer?: (token: string) => Promise<string | undefined>;
  readonly log?: (line: string) => void;
}

export interface TopicServer {
  readonly name: string;
  /** `https://127.0.0.1:PORT` */
  readonly url: string;
  /** What EventGridPublisherClient takes: `https://127.0.0.1:PORT/api/events`. */
  readonly endpoint: string;
  readonly resourceId: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * An Event Grid custom topic over HTTPS: `POST /api/events?api-version=…` with the Event Grid or CloudEvents
 * schema, authenticated like Azure, validated like Azure, fanned out to the delivery engine. The
 * `/_emulator/eventgrid/…` control routes (loopback only) manage subscriptions.
 */
export async function startTopicServer(options: TopicServerOptions): Promise<TopicServer> {
  const now = options.now ?? Date.now;
  const resourceId = topicResourceId(options.name);
  const server = https.createServer({ key: options.tls.key, cert: options.tls.cert }, (req, res) => {
    readBody(req)
      .then(({ body, tooLarge }) => handle(req, res, body, tooLarge))
      .catch((error: unknown) => send(res, 500, { error: { code: "InternalServerError", message: (error as Error).message } }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse, body: Buffer, tooLarge: boolean): Promise<void> {
    const url = new URL(req.url ?? "/", "https://127.0.0.1");
    const method = req.method ?? "GET";
    if (url.pathname.startsWith("/_emulator/")) {
      if (!isLoopback(req.socket.remoteAddress)) return send(res, 403, { error: { code: "Forbidden", message: "Control endpoints answer loopback callers only." } });
      const answer = handleEventGridControl(options.engine, method, url.pathname, body.toString("utf8"));
      return answer ? send(res, answer.status, answer.body) : send(res, 404, { error: { code: "NotFound", message: `No control route ${url.pathname}.` } });
    }
    try {
      if (url.pathname.replace(/\/+$/, "") !== TOPIC_EVENTS_PATH) throw eventGridErrors.notFound(`No resource at ${url.pathname}; publish to ${TOPIC_EVENTS_PATH}.`);
      if (method !== "POST") throw eventGridErrors.methodNotAllowed(method);
      await authenticate(req, url);
      if (!url.searchParams.get("api-version")) throw eventGridErrors.missingApiVersion();
      if (tooLarge) {
        throw eventGridErrors.payloadTooLarge(`The maximum size (${MAX_REQUEST_BYTES}) of an Event Grid publish request has been exceeded. Send fewer or smaller events per request.`);
      }
      const records = validatePublish(body, req.headers["content-type"], resourceId, now());
      options.engine.publish(options.name, records);
      options.log?.(`eventgrid: topic ${options.name} accepted ${records.length} event(s)`);
      send(res, 200, undefined);
    } catch (error) {
      if (error instanceof EventGridError) {
        options.log?.(`eventgrid: topic ${options.name} refused a publish: ${error.status} ${error.detailCode}`);
        return send(res, error.status, error.toBody());
      }
      throw error;
    }
  }

  async function authenticate(req: IncomingMessage, url: URL): Promise<void> {
    const host = `${options.name.toUpperCase()}.127.0.0.1`;
    const sasKey = header(req, "aeg-sas-key");
    const sasToken = header(req, "aeg-sas-token");
    const authorization = header(req, "authorization");
    if (sasKey !== undefined) {
      const given = Buffer.from(sasKey, "utf8");
      const expected = Buffer.from(options.accessKey, "utf8");
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw eventGridErrors.unauthorized(host, "The provided aeg-sas-key does not match the topic's key. Use the key from the emulator's keyFile.");
      }
      return;
    }
    if (sasToken !== undefined) {
      const reason = verifySasToken(sasToken, options.accessKey, url.pathname, now());
      if (reason) throw eventGridErrors.invalidSas(host, reason);
      return;
    }
    if (authorization !== undefined && /^Bearer /i.test(authorization)) {
      const reason = options.verifyBearer ? await options.verifyBearer(authorization.slice(7).trim()) : "This topic accepts only aeg-sas-key or aeg-sas-token.";
      if (reason) throw eventGridErrors.unauthorized(host, reason);
      return;
    }
    throw eventGridErrors.unauthorized(host, "The request carries no aeg-sas-key, aeg-sas-token or Authorization header.");
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `https://127.0.0.1:${port}`;
  return {
    name: options.name,
    url,
    endpoint: `${url}${TOPIC_EVENTS_PATH}`,
    resourceId,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function isLoopback(address: string | undefined): boolean {
  return address === "127.0.0.1" || address === "::1" || address === "::ffff:127.0.0.1";
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** Reads at most one byte past the limit, then drains, so a huge body cannot exhaust memory. */
function readBody(req: IncomingMessage): Promise<{ body: Buffer; tooLarge: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on("end", () => resolve({ body: tooLarge ? Buffer.alloc(0) : Buffer.concat(chunks), tooLarge }));
    req.on("error", reject);
  });
}
