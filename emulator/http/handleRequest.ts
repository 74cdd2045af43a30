/**
 * The request pipeline of one instance, in order:
 *  1. request id header on every response;
 *  2. /_emulator/ control endpoints (loopback only, no token, no api-version);
 *  3. api-version from the decoded query (the SDK sends `api%2Dversion`); unknown → 400, missing → 400
 *     except on routes the service answers without one (job status polls);
 *  4. challenge auth BEFORE the body is read (the SDK's first request is bodiless) and token checks;
 *  5. fault injection; 6. routing (empty segments kept; RBAC paths parsed for their scope);
 *  7. restore-mode refusal, then the modelled HSM capacity (opt-in: waits, or 429 past its queue);
 *  8. JSON body; 9. handler; 10. errors → `{"error":{...}}`; 11. audit record.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { CryptoInputError } from "../crypto/cryptoInputError";
import { verifyToken, EMULATOR_TENANT_ID, type TokenClaims } from "../auth/tokens";
import { auditClaims } from "../audit";
import { KeyVaultError, keyVaultErrors } from "../errors";
import type { Instance } from "../instance";
import { resourceForHost } from "../instanceKind";
import { normalizeScope } from "../rbac/rbacStore";
import { handleControlRequest } from "../routes/controlRoutes";
import { notActivatedError } from "../securitydomain/securityDomainRoutes";
import type { EmulatorServices, RequestContext } from "./requestContext";
import type { Reply, RouteMatch, RouteTable } from "./routes";

// The data-plane versions of the REST specs (stable 7.0 … 7.6, 2025-06-01, 2025-07-01, and their previews); vaults
// also answer the two versions from before 7.0, which Managed HSM (introduced with 7.2) never had.
const API_VERSION = /^(7\.[0-6](-preview(\.\d+)?)?|2025-06-01|2025-07-01|2025-06-01-preview|2026-01-01-preview)$/;
const VAULT_ONLY_API_VERSION = /^(2015-06-01|2016-10-01)$/;
const MAX_BODY = 64 * 1024 * 1024;

export interface PipelineDeps {
  instance: Instance;
  services: EmulatorServices;
  routes: RouteTable;
  tokenSecret: Buffer;
}

interface ParsedPath {
  segments: string[];
  scope?: string;
}

/** Splits the raw path without URL-resolving it (`//keys/...` must not become host "keys"). */
function parsePath(rawPath: string): ParsedPath {
  const decode = (s: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw keyVaultErrors.badParameter(`The request URI contains an invalid percent-encoding: ${s}`);
    }
  };
  const lower = rawPath.toLowerCase();
  const marker = "/providers/microsoft.authorization/";
  const idx = lower.indexOf(marker);
  if (idx >= 0) {
    const scope = normalizeScope(decode(rawPath.slice(0, idx)));
    const rest = rawPath.slice(idx + 1).replace(/\/$/, "");
    return { segments: rest.split("/").map(decode), scope };
  }
  return { segments: rawPath.slice(1).split("/").map(decode) };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(keyVaultErrors.badParameter(`Request body is larger than ${MAX_BODY} bytes.`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, reply: Reply): void {
  const headers: Record<string, string> = { ...(reply.headers ?? {}) };
  let payload: string | undefined;
  if (reply.body !== undefined) {
    payload = JSON.stringify(reply.body);
    headers["content-type"] = "application/json; charset=utf-8";
  }
  headers["content-length"] = String(payload === undefined ? 0 : Buffer.byteLength(payload));
  res.writeHead(reply.status, headers);
  res.end(payload);
}

function challengeHeader(resource: string): string {
  return `Bearer authorization="https://login.microsoftonline.com/${EMULATOR_TENANT_ID}", resource="${resource}"`;
}

export async function handleRequest(req: IncomingMessage, res: ServerResponse, deps: PipelineDeps): Promise<void> {
  const { instance, services, routes } = deps;
  const started = Date.now();
  const requestId = randomUUID();
  const clientRequestId = typeof req.headers["x-ms-client-request-id"] === "string" ? req.headers["x-ms-client-request-id"] : undefined;
  res.setHeader("x-ms-request-id", requestId);
  if (clientRequestId !== undefined) res.setHeader("x-ms-client-request-id", clientRequestId);
  res.setHeader("x-ms-keyvault-service-version", "1.9.0.0-emulator");
  res.setHeader("x-ms-keyvault-region", "local");
  const rawUrl = req.url ?? "/";
  const q = rawUrl.indexOf("?");
  const rawPath = q >= 0 ? rawUrl.slice(0, q) : rawUrl;
  const query = new URLSearchParams(q >= 0 ? rawUrl.slice(q + 1) : "");
  const method = (req.method ?? "GET").toUpperCase();
  const callerIp = (req.socket.remoteAddress ?? "").replace(/^::ffff:/, "");
  const host = req.headers.host ?? instance.url.replace(/^https:\/\//, "");
  const baseUrl = `https://${host}`;
  const resource = resourceForHost(instance.kind, host);

  if (rawPath.replace(/^\/+/, "/").startsWith("/_emulator/")) {
    await handleControlRequest({ instance, services, rawPath: rawPath.replace(/^\/+/, "/"), query, method, callerIp, readBody: () => readBody(req), send: (r) => send(res, r) });
    return;
  }

  let claims: TokenClaims | undefined;
  let operationName = "Unknown";
  let auditId: string | undefined;
  let status = 500;
  let apiVersion = query.get("api-version") ?? "";
  const auth = req.headers.authorization;
  const userAgent = req.headers["user-agent"];
  const clientInfo = typeof userAgent === "string" && userAgent !== "" ? userAgent : undefined;
  try {
    // The operation is named from the route even when the request is refused before routing, so a refusal
    // is logged as what the caller attempted (KeyGet, BackupCreate…), not as "Unknown".
    const early = routeOf(routes, method, rawPath);
    if (early !== undefined) operationName = early.route.operationName;
    if (apiVersion === "" && early?.route.apiVersionOptional !== true) {
      claims = await claimsIfValid(deps.tokenSecret, auth, resource);
      throw keyVaultErrors.badParameter("The 'api-version' query parameter is missing. Add ?api-version=2025-07-01 (or any version 7.2 to 2025-07-01).");
    }
    if (apiVersion !== "" && !API_VERSION.test(apiVersion) && !(instance.kind === "vault" && VAULT_ONLY_API_VERSION.test(apiVersion))) {
      const bad = apiVersion;
      apiVersion = "";
      claims = await claimsIfValid(deps.tokenSecret, auth, resource);
      throw keyVaultErrors.badParameter(`The specified version (${bad}) is not recognized. Consider using the latest supported version (2025-07-01).`);
    }
    if (auth === undefined || !/^Bearer\s+\S+/i.test(auth)) {
      operationName = "Authentication";
      req.resume(); // discard any body: the challenge is answered before reading it
      throw new KeyVaultError(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.", undefined, { "www-authenticate": challengeHeader(resource) });
    }
    try {
      claims = await verifyToken(deps.tokenSecret, auth.replace(/^Bearer\s+/i, "").trim(), resource);
    } catch (e) {
      operationName = "Authentication";
      req.resume();
      if (e instanceof KeyVaultError) throw new KeyVaultError(e.status, e.code, e.message, undefined, { "www-authenticate": challengeHeader(resource) });
      throw e;
    }

    const fault = instance.faults.decide();
    if (fault?.kind === "throttle") throw keyVaultErrors.throttled(fault.retryAfterSeconds);
    if (fault?.kind === "error") throw keyVaultErrors.serverFault(fault.status);
    if (fault?.kind === "delay") await new Promise((r) => setTimeout(r, fault.ms));

    const parsed = parsePath(rawPath);
    const match = routes.match(method, parsed.segments);
    if (match === undefined) throw keyVaultErrors.notFound(`No operation matches ${method} ${rawPath} on this ${instance.kind === "managedHsm" ? "Managed HSM" : "vault"}.`);
    if (match === "method") throw keyVaultErrors.methodNotAllowed(`The method ${method} is not allowed on ${rawPath}.`);
    const { route, params } = match;
    operationName = route.operationName;
    if (parsed.scope !== undefined) params["scope"] = parsed.scope;
    if (route.kinds !== undefined && !route.kinds.includes(instance.kind)) {
      throw keyVaultErrors.badParameter(`${route.operationName} is not supported by a ${instance.kind === "managedHsm" ? "Managed HSM" : "Key Vault vault"}.`);
    }
    if (!instance.activated && route.allowBeforeActivation !== true) throw notActivatedError();
    if (instance.restoreMode && route.allowDuringRestore !== true) throw keyVaultErrors.restoreInProgress();
    if (instance.capacity !== undefined) await instance.admitCapacity(route.operationName, params);

    let body: unknown;
    const readsBody = route.readsBody ?? ["POST", "PUT", "PATCH"].includes(method);
    if (readsBody) {
      const raw = await readBody(req);
      if (raw.length > 0) {
        try {
          body = JSON.parse(raw.toString("utf8"));
        } catch {
          throw keyVaultErrors.badParameter("The request body is not valid JSON.");
        }
      }
    } else req.resume();

    const oid = claims.oid;
    const ctx: RequestContext = {
      instance,
      services,
      method,
      rawPath,
      params,
      query,
      apiVersion,
      body,
      baseUrl,
      requestId,
      correlationId: clientRequestId ?? requestId,
      callerOid: oid,
      callerIp,
      callerClaims: auditClaims(claims),
      clientInfo,
      headers: req.headers,
      authorize: (action, scope, vaultAction) => instance.rbac.authorize(oid, action, scope, vaultAction),
      json: (s, b, h) => ({ status: s, body: b, ...(h ? { headers: h } : {}) }),
      empty: (s, h) => ({ status: s, ...(h ? { headers: h } : {}) }),
    };
    const reply = await route.handler(ctx);
    auditId = ctx.auditId;
    status = reply.status;
    send(res, reply);
  } catch (e) {
    let err: KeyVaultError;
    if (e instanceof KeyVaultError) err = e;
    else if (e instanceof CryptoInputError) err = keyVaultErrors.badParameter(e.message);
    else {
      services.log(`[${instance.name}] internal error on ${method} ${rawPath}: ${(e as Error)?.message ?? String(e)}`);
      err = keyVaultErrors.internal(`The emulator failed internally (request ${requestId}); see its stderr.`);
    }
    status = err.status;
    if (!res.headersSent) send(res, { status: err.status, body: err.toBody(), headers: err.headers });
    else res.destroy();
  } finally {
    instance.audit.record({
      time: instance.clock.now().toISOString(),
      operationName,
      operationVersion: apiVersion,
      resultSignature: statusText(status),
      durationMs: Date.now() - started,
      callerIpAddress: callerIp,
      correlationId: clientRequestId ?? requestId,
      identity: { claim: claims !== undefined ? auditClaims(claims) : {} },
      properties: {
        requestUri: `${baseUrl}${rawUrl}`,
        httpStatusCode: status,
        ...(auditId !== undefined ? { id: auditId } : {}),
        ...(clientInfo !== undefined ? { clientInfo } : {}),
      },
    });
  }
}

/** The route a request names, looked up before the api-version check (which depends on it) and before auth. */
function routeOf(routes: RouteTable, method: string, rawPath: string): RouteMatch | undefined {
  let segments: string[];
  try {
    segments = parsePath(rawPath).segments;
  } catch {
    return undefined;
  }
  const match = routes.match(method, segments);
  return typeof match === "object" ? match : undefined;
}

/** The caller's claims for the audit record of a request refused before authentication; undefined unless the token is valid. */
async function claimsIfValid(secret: Buffer, auth: string | undefined, resource: string): Promise<TokenClaims | undefined> {
  if (auth === undefined || !/^Bearer\s+\S+/i.test(auth)) return undefined;
  try {
    return await verifyToken(secret, auth.replace(/^Bearer\s+/i, "").trim(), resource);
  } catch {
    return undefined;
  }
}

function statusText(status: number): string {
  const map: Record<number, string> = { 200: "OK", 201: "Created", 202: "Accepted", 204: "NoContent", 400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed", 409: "Conflict", 429: "TooManyRequests", 500: "InternalServerError", 503: "ServiceUnavailable" };
  return map[status] ?? String(status);
}
