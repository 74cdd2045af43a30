/**
 * What a route handler receives: the instance, caller, parsed request and helpers.
 *
 *   handler: async (ctx) => {
 *     ctx.authorize("keys/read/action", `/keys/${ctx.params.name}`); // throws 403 ForbiddenByRbac
 *     const key = ctx.instance.keys.get(ctx.params.name!);             // throws KeyVaultError 404
 *     await ctx.instance.commit();                                      // after mutations
 *     return ctx.json(200, body);
 *   }
 *
 * Actions use the Managed HSM vocabulary ("keys/sign/action", "backup/start/action"); on vault instances
 * they are translated to the vault data actions (pass `vaultAction` when there is no 1:1 mapping).
 */
import type { IncomingHttpHeaders } from "node:http";
import type { AuditClaims } from "../audit";
import type { Instance } from "../instance";
import type { Reply } from "./routes";

/** Emulator-wide things a handler may need (other instances, CLI options). */
export interface EmulatorServices {
  readonly stateDir: string;
  /** PEM of the emulator CA (DIR/ca.pem). */
  readonly caPem: string;
  readonly instances: ReadonlyMap<string, Instance>;
  /** Minutes within which a full backup must precede a full restore (admin module). */
  readonly restoreBackupWindowMinutes: number;
  readonly blobConnectionString: string | undefined;
  /** Writes a line to stderr (never pass secrets or key material). */
  log(message: string): void;
}

export interface RequestContext {
  readonly instance: Instance;
  readonly services: EmulatorServices;
  readonly method: string;
  /** Raw path as received (still percent-encoded). */
  readonly rawPath: string;
  /** Route parameters, percent-decoded. RBAC routes also get `scope` ("/", "/keys", "/keys/k"). */
  readonly params: Record<string, string>;
  readonly query: URLSearchParams;
  readonly apiVersion: string;
  /** Parsed JSON body, undefined when there was none. */
  readonly body: unknown;
  /** "https://host:port" exactly as the client addressed us (Host header) — build kid/nextLink/poll URLs from it. */
  readonly baseUrl: string;
  readonly requestId: string;
  /** x-ms-client-request-id when sent, else the request id. */
  readonly correlationId: string;
  readonly callerOid: string;
  readonly callerIp: string;
  /** The caller's claims as the audit log records them (for records a handler writes itself). */
  readonly callerClaims: AuditClaims;
  /** The caller's User-Agent (the audit log's clientInfo), when sent. */
  readonly clientInfo: string | undefined;
  readonly headers: IncomingHttpHeaders;
  /** Throws 403 Forbidden (innererror ForbiddenByRbac) unless the caller holds `action` at `scope`. */
  authorize(action: string, scope: string, vaultAction?: string): void;
  json(status: number, body: unknown, headers?: Record<string, string>): Reply;
  empty(status: number, headers?: Record<string, string>): Reply;
  /** Handlers may set the object id (kid) the audit record names. */
  auditId?: string;
}
