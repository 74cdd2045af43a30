/**
 * An App Service-style managed identity endpoint (plain HTTP on 127.0.0.1, like the platform's local
 * endpoint). With `IDENTITY_ENDPOINT=http://127.0.0.1:PORT/msi/token` and `IDENTITY_HEADER=<DIR/identity-header>`
 * in the environment, `@azure/identity`'s `ManagedIdentityCredential` uses it unchanged:
 *
 *   GET /msi/token?api-version=2019-08-01&resource=https%3A%2F%2Fmanagedhsm.azure.net&client_id=<id>
 *   X-IDENTITY-HEADER: <secret>
 *   → 200 {"access_token","expires_on":"<unix seconds>","resource","token_type":"Bearer","client_id"}
 *
 * The older protocol on the same URL, for `MSI_ENDPOINT` + `MSI_SECRET` (same secret value):
 *
 *   GET /msi/token?api-version=2017-09-01&resource=...&clientid=<id>
 *   secret: <secret>
 *   → 200 {"access_token","expires_on":"<unix seconds>","resource","token_type":"Bearer"}
 *
 * expires_on of 2017-09-01 is epoch seconds as Azure Machine Learning's endpoint sends it, not App Service's
 * "06/20/2019 02:57:58 +00:00" date string: MSAL (and so the JS ManagedIdentityCredential) parses only epoch
 * seconds or ISO 8601 there, while azure-identity for Python accepts both.
 *
 * Tokens are the emulator's own HS256 JWTs (see ../auth/tokens.ts), only for registered identities; the
 * rules are in ./tokenRequest.ts. Never logs tokens or the header secret.
 */
import { randomUUID, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { signToken } from "../auth/tokens";
import { ensureIdentityHeader } from "./identityHeader";
import { IDENTITY_API_VERSION, IdentityRequestError, parseTokenRequest, protocolOf, type IdentityProtocol } from "./tokenRequest";

export const IDENTITY_TOKEN_PATH = "/msi/token";

export interface IdentityServerOptions {
  stateDir: string;
  /** 0 = ephemeral. */
  port: number;
  tokenSecret: Buffer;
  /** oid of the system-assigned identity (requests without client_id); none → such requests get 400. */
  defaultOid?: string;
  /** Client ids of the user-assigned identities that get tokens; any other id gets 400. */
  clientIds?: readonly string[];
  /** Token lifetime in seconds (default 3600, like Entra's managed identity tokens' order of magnitude). */
  expiresInSeconds?: number;
  log?: (line: string) => void;
}

export interface IdentityServer {
  /** `http://127.0.0.1:PORT/msi/token` — the IDENTITY_ENDPOINT value. */
  endpoint: string;
  /** DIR/identity-header — holds the IDENTITY_HEADER value. */
  headerFile: string;
  /** The IDENTITY_HEADER value (a local secret: hand it to the app, never print it). */
  header: string;
  port: number;
  close(): Promise<void>;
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "::ffff:127.0.0.1"]);

export async function startIdentityServer(options: IdentityServerOptions): Promise<IdentityServer> {
  const { file: headerFile, header } = ensureIdentityHeader(options.stateDir);
  const expected = Buffer.from(header, "utf8");
  const log = options.log ?? (() => undefined);
  const identities = {
    userAssigned: new Set((options.clientIds ?? []).map((id) => id.toLowerCase())),
    ...(options.defaultOid !== undefined ? { systemAssigned: options.defaultOid } : {}),
  };
  /** The header each protocol carries the shared secret in, and the environment variable naming it. */
  const secretHeader = (protocol: IdentityProtocol): { name: string; display: string; env: string } =>
    protocol === IDENTITY_API_VERSION
      ? { name: "x-identity-header", display: "X-IDENTITY-HEADER", env: "IDENTITY_HEADER" }
      : { name: "secret", display: "secret", env: "MSI_SECRET" };

  const send = (res: ServerResponse, status: number, body: unknown, correlationId: string): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), "x-ms-correlation-request-id": correlationId });
    res.end(text);
  };
  const fail = (res: ServerResponse, status: number, code: string, message: string, correlationId: string): void =>
    // Both shapes MSAL reads: error.code/message, plus the top-level statusCode/message App Service uses.
    send(res, status, { statusCode: status, message, correlationId, error: { code, message } }, correlationId);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const correlationId = randomUUID();
    if (!LOOPBACK.has(req.socket.remoteAddress ?? "")) return fail(res, 403, "Forbidden", "The identity endpoint answers loopback callers only.", correlationId);
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname.replace(/\/+$/, "") !== IDENTITY_TOKEN_PATH) return fail(res, 404, "NotFound", `No resource at ${url.pathname}; request tokens from ${IDENTITY_TOKEN_PATH}.`, correlationId);
    if (req.method !== "GET") return fail(res, 405, "MethodNotAllowed", `Method ${req.method ?? "?"} is not allowed; use GET.`, correlationId);
    try {
      const protocol = protocolOf(url.searchParams);
      const { name, display, env } = secretHeader(protocol);
      const given = req.headers[name];
      if (given === undefined || given === "") {
        return fail(res, 400, "BadRequest", `The ${display} header is missing. Send the value of the ${env} environment variable.`, correlationId);
      }
      const givenBytes = Buffer.from(Array.isArray(given) ? given.join(",") : given, "utf8");
      if (givenBytes.length !== expected.length || !timingSafeEqual(givenBytes, expected)) {
        return fail(res, 401, "Unauthorized", `The ${display} header value is wrong. Use the ${env} value from this emulator's identity-header file.`, correlationId);
      }
      const request = parseTokenRequest(url.searchParams, identities);
      const { token, exp } = await signToken(options.tokenSecret, {
        oid: request.oid,
        aud: request.aud,
        // Managed identity tokens carry the identity's client id as appid; the HSM's audit log names it.
        extra: { appid: request.clientId },
        ...(options.expiresInSeconds !== undefined ? { expiresInSeconds: options.expiresInSeconds } : {}),
      });
      log(`identity: token issued for ${request.clientId} (aud ${request.aud}, api-version ${protocol})`);
      const answer = { access_token: token, expires_on: String(exp), resource: request.resource, token_type: "Bearer" };
      send(res, 200, protocol === IDENTITY_API_VERSION ? { ...answer, client_id: request.clientId } : answer, correlationId);
    } catch (e) {
      if (e instanceof IdentityRequestError) {
        log(`identity: request refused (${e.status}): ${e.message}`);
        return fail(res, e.status, e.code, e.message, correlationId);
      }
      throw e;
    }
  };

  const server: Server = createServer((req, res) => {
    // Drain any body: a GET with a body must not leave the socket stuck.
    req.resume();
    handle(req, res).catch((e: unknown) => {
      log(`identity: request failed: ${(e as Error).message}`);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  server.keepAliveTimeout = 5000;
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(e.code === "EADDRINUSE" ? new Error(`Identity endpoint port ${options.port} is already in use. Pick another port or 0 for an ephemeral one.`) : e),
    );
    server.listen(options.port, "127.0.0.1", () => resolveListen());
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : options.port;
  let closed = false;
  return {
    endpoint: `http://127.0.0.1:${port}${IDENTITY_TOKEN_PATH}`,
    headerFile,
    header,
    port,
    close: async () => {
      if (closed) return;
      closed = true;
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeIdleConnections();
        for (const s of sockets) s.destroy();
      });
    },
  };
}
