import type { ErrorCode } from "./errorCode";
import { LifecycleError } from "./lifecycleError";
import { redactSecrets } from "./redactSecrets";

/** The roles a failure can name. Real Azure role names, so the fix can be pasted into `az role assignment`. */
export type RoleName =
  | "Managed HSM Crypto User"
  | "Managed HSM Crypto Officer"
  // The built-in role names as Azure lists them (`az keyvault role definition list --hsm-name …`).
  | "Managed HSM Backup User"
  | "Managed HSM Restore User"
  | "Managed HSM Crypto Auditor"
  | "Managed HSM Administrator"
  | "Key Vault Crypto Officer"
  // The lifecycle app's own custom roles (shared/rbac/lifecycleRoles.ts; `hsm-lifecycle rbac plan` lists them).
  | "HSM Lifecycle Rotation"
  | "HSM Lifecycle Backup"
  | "HSM Lifecycle Drill Probe"
  | "HSM Lifecycle Drill DR"
  | "HSM Lifecycle DR Steward"
  | "HSM Lifecycle Recovery"
  | "HSM Lifecycle Evidence Signer"
  | "Vault Lifecycle Rotation"
  | "Storage Blob Data Contributor"
  | "EventGrid Data Sender";

export type ServiceKind = "managedHsm" | "vault" | "storage" | "eventGrid";

/** What was being attempted when the SDK call failed: it turns a status code into a cause and a fix. */
export interface FailureContext {
  service: ServiceKind;
  /** e.g. "rotateKey", "beginBackup", "uploadManifest" */
  operation: string;
  /** URL or name of the object acted on (query strings are dropped: they can carry a SAS). */
  resource?: string;
  /** The role the operation needs; defaults per service (rotation identity: HSM Lifecycle Rotation). */
  requiredRole?: RoleName;
  /** The scope the role must be assigned at, when only one works (admin jobs: "/"); default: per service. */
  requiredScope?: string;
}

const defaultRole: Record<ServiceKind, RoleName> = {
  managedHsm: "HSM Lifecycle Rotation",
  vault: "Vault Lifecycle Rotation",
  storage: "Storage Blob Data Contributor",
  eventGrid: "EventGrid Data Sender",
};

/** Node/undici socket-level failures: the request never got an HTTP answer. */
const networkCodes = new Set([
  "REQUEST_SEND_ERROR",
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/** TLS verification failures: retrying cannot help, trusting the right CA can. */
const tlsCodes = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** The fields of `RestError` (@azure/core-rest-pipeline) we read; duck-typed so this module imports no SDK. */
interface RestErrorLike {
  name: string;
  message: string;
  statusCode?: number;
  code?: string;
  details?: unknown;
}

export function isRestErrorLike(e: unknown): e is RestErrorLike {
  return e instanceof Error && e.name === "RestError";
}

/**
 * Maps an SDK `RestError` to a `LifecycleError` by status code and service error code, with a message
 * that names the cause and the fix.
 *
 * Example:
 * ```ts
 * try { await client.rotateKey(name); }
 * catch (e) { throw fromRestError(e, { service: "managedHsm", operation: "rotateKey", resource: name }); }
 * ```
 */
export function fromRestError(e: unknown, context: FailureContext): LifecycleError {
  if (!isRestErrorLike(e)) return toLifecycleError(e, context);
  const status = e.statusCode;
  const serviceCode = e.code;
  const innerCode = innerErrorCode(e.details);
  const what = describe(context);
  const said = serviceSaid(e, status);
  const role = context.requiredRole ?? defaultRole[context.service];
  const make = (code: ErrorCode, detail: string): LifecycleError => new LifecycleError(code, detail, e);
  // "404 KeyNotFound", or just "404" when the body carried no code.
  const st = (code: string | undefined = serviceCode): string => (code === undefined || code === "" ? `${status}` : `${status} ${code}`);

  if (status === undefined) {
    if (serviceCode !== undefined && tlsCodes.has(serviceCode)) {
      return make(
        "TlsUntrusted",
        `${what} failed: the server certificate is not trusted (${serviceCode}). Fix: for the local emulator set HSM_TLS_CA_FILE to its ca.pem; in Azure leave it unset.`,
      );
    }
    if (serviceCode !== undefined && networkCodes.has(serviceCode)) {
      if (context.service === "storage") {
        return make(
          "StorageUnreachable",
          `${what} failed: storage did not answer (${serviceCode}). Fix: check STORAGE_ACCOUNT_URL / STORAGE_CONNECTION_STRING, DNS, private endpoints and the storage firewall.`,
        );
      }
      return make(
        "Unreachable",
        `${what} failed: ${serviceLabel(context.service)} did not answer (${serviceCode}). Fix: check the configured URL, DNS and network rules.`,
      );
    }
    return make("Unexpected", `${what} failed without an HTTP status (${serviceCode ?? "no code"}): ${said}`);
  }

  switch (status) {
    case 400:
      return make("BadParameter", `${what} was rejected as invalid (${st()}): ${said}. Fix: correct the request or the configuration it came from.`);
    case 401:
      return make(
        "Unauthorized",
        `${what} was not authenticated (${st()}): ${said}. Fix: check the function app's managed identity and that its token is for the right tenant and resource.`,
      );
    case 403:
      if (innerCode === "ForbiddenByFirewall" || serviceCode === "AuthorizationFailure") {
        return make(
          "FirewallBlocked",
          `${what} was refused by network rules (${st(innerCode ?? serviceCode)}): ${said}. Fix: allow the function app's outbound addresses or private endpoint (for storage also "trusted Azure services"), or check the SAS.`,
        );
      }
      // The key itself refuses (a disabled version, or key_ops without this operation, as a compromise rotation
      // leaves the old version): no role assignment changes that, so naming a role would send the operator astray.
      if (innerCode === "KeyDisabled" || innerCode === "KeyOperationForbidden") {
        return make(
          "Conflict",
          `${what} was refused by the key itself (${st(innerCode)}): ${said}. The key version is disabled or its key_ops do not allow this operation; a role cannot change that. Fix: use a version that allows it (after a compromise rotation the old version only verifies, unwraps and decrypts), or enable the version if it was disabled by mistake.`,
        );
      }
      return make(
        "MissingRole",
        `${what} was refused (${st(innerCode ?? serviceCode ?? "Forbidden")}): the caller lacks the "${role}" role. Fix: assign "${role}" to the function app's identity on ${scopeHint(context)}.`,
      );
    case 404:
      if (serviceCode === "KeyNotFound") {
        return make("KeyNotFound", `${what} failed: the key does not exist (404 KeyNotFound). Fix: check the key name, or recover it if it was deleted.`);
      }
      if (serviceCode === "ContainerNotFound") {
        return make("ContainerNotFound", `${what} failed: the blob container does not exist (404 ContainerNotFound). Fix: create it or correct the container setting.`);
      }
      return make("NotFound", `${what} failed: not found (${st()}): ${said}. Fix: check the configured URL and name.`);
    case 409:
      return make("Conflict", `${what} conflicts with the current state (${st(serviceCode ?? "Conflict")}): ${said}.`);
    case 429:
      return make("Throttled", `${what} was throttled (${st(serviceCode ?? "Throttled")}). It is transient. Fix: if it persists, lower ROTATION_BATCH_SIZE or spread the schedules.`);
    case 408:
    case 500:
    case 502:
    case 503:
    case 504:
      return make("ServiceUnavailable", `${what} failed on the service side (${st()}): ${said}. It is transient. Fix: if it persists, check the service's health.`);
    default:
      return make("Unexpected", `${what} failed (${st()}): ${said}`);
  }
}

/**
 * Turns anything thrown inside an activity into a `LifecycleError` so its code survives the boundary.
 * `LifecycleError`s pass through unchanged; `RestError`s are mapped by `fromRestError`.
 */
export function toLifecycleError(e: unknown, context?: FailureContext): LifecycleError {
  if (e instanceof LifecycleError) return e;
  if (context !== undefined && isRestErrorLike(e)) return fromRestError(e, context);
  const where = context === undefined ? "" : `${describe(context)} failed: `;
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return new LifecycleError("Unexpected", `${where}${redactSecrets(text)}`, e);
}

function describe(context: FailureContext): string {
  return context.resource === undefined
    ? context.operation
    : `${context.operation} on ${stripQuery(context.resource)}`;
}

function stripQuery(resource: string): string {
  const q = resource.indexOf("?");
  return q === -1 ? resource : resource.slice(0, q);
}

function serviceLabel(service: ServiceKind): string {
  return { managedHsm: "the Managed HSM", vault: "the key vault", storage: "storage", eventGrid: "the Event Grid topic" }[service];
}

function scopeHint(context: FailureContext): string {
  if (context.requiredScope !== undefined) return `scope ${context.requiredScope}`;
  switch (context.service) {
    case "managedHsm":
      return "the key (scope /keys/{name}), on /keys, or on /";
    case "vault":
      return "the key or the vault";
    case "storage":
      return "the storage account or container";
    case "eventGrid":
      return "the lifecycle topic";
  }
}

/** The service's own message, bounded and with secrets removed. */
function serviceSaid(e: RestErrorLike, status: number | undefined): string {
  const text = e.message && e.message.length > 0 ? e.message : `status ${status ?? "none"}`;
  const bounded = text.length > 300 ? `${text.slice(0, 300)}…` : text;
  // Trailing full stops are dropped because the caller's sentence continues after the quote.
  return redactSecrets(bounded).replace(/[\s.]+$/, "");
}

/** `details.error.innerError.code` as keyvault's deserializer sets it, or the raw `innererror`. */
function innerErrorCode(details: unknown): string | undefined {
  if (typeof details !== "object" || details === null) return undefined;
  const error = (details as { error?: unknown }).error;
  if (typeof error !== "object" || error === null) return undefined;
  const inner = (error as { innerError?: unknown; innererror?: unknown }).innerError ?? (error as { innererror?: unknown }).innererror;
  if (typeof inner !== "object" || inner === null) return undefined;
  const code = (inner as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}
