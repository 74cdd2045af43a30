/**
 * The HTTP plumbing shared by the Managed HSM admin clients (backup/restore and access control).
 *
 * `@azure/keyvault-admin` is not in our registry, so this rebuilds what it does on the same packages:
 * a core-rest-pipeline pipeline (retry, TLS, user agent) with `@azure/keyvault-common`'s challenge
 * policy for auth, JSON in/out, and every non-expected status turned into a `RestError` carrying the
 * service's `error.code` / `error.message` (exactly how the generated Key Vault clients surface errors).
 */
import type { TokenCredential } from "@azure/core-auth";
import {
  createDefaultHttpClient,
  createHttpHeaders,
  createPipelineFromOptions,
  createPipelineRequest,
  RestError,
  type HttpClient,
  type Pipeline,
  type PipelineOptions,
  type PipelineResponse,
} from "@azure/core-rest-pipeline";
import { keyVaultAuthenticationPolicy } from "@azure/keyvault-common";
import { isLoopbackUrl } from "../config/loopbackHost";

/** Service version sent as `api-version`; the admin REST shapes are the same from 7.2 to 2025-07-01. */
export const DEFAULT_ADMIN_API_VERSION = "2025-07-01";

/** Options common to both admin clients (a subset of keyvault-admin's `ClientOptions`). */
export interface KeyVaultAdminClientOptions
  extends Pick<PipelineOptions, "tlsOptions" | "retryOptions" | "agent" | "proxyOptions" | "userAgentOptions"> {
  /** `api-version` query value; defaults to {@link DEFAULT_ADMIN_API_VERSION}. */
  serviceVersion?: string;
  /**
   * Skip the check that the challenge's `resource` matches the HSM's host, for the local emulator (it answers
   * for `https://managedhsm.azure.net` from 127.0.0.1). Honoured for loopback hosts ONLY: for any other host
   * the check stays on, so a host that is not the HSM never receives an HSM token.
   */
  disableChallengeResourceVerification?: boolean;
  /** Replace the HTTP client (tests of transport behaviour only). */
  httpClient?: HttpClient;
}

/** One admin pipeline bound to one HSM. */
export interface AdminPipeline {
  readonly vaultUrl: string;
  readonly apiVersion: string;
  send<T>(request: AdminRequest): Promise<AdminResponse<T>>;
}

export interface AdminRequest {
  method: "GET" | "PUT" | "POST" | "DELETE" | "PATCH";
  /** A path below the HSM URL (may start with several slashes: RBAC scopes) or an absolute URL (poll links). */
  pathOrUrl: string;
  body?: unknown;
  query?: Record<string, string | undefined>;
  expectedStatuses: number[];
  abortSignal?: AbortSignal;
}

export interface AdminResponse<T> {
  status: number;
  headers: Record<string, string>;
  body: T;
}

export function createAdminPipeline(
  vaultUrl: string,
  credential: TokenCredential,
  options: KeyVaultAdminClientOptions = {},
): AdminPipeline {
  const base = vaultUrl.replace(/\/+$/, "");
  if (!/^https?:\/\//i.test(base)) {
    throw new Error(`The HSM URL '${vaultUrl}' is not an absolute http(s) URL; pass e.g. https://myhsm.managedhsm.azure.net.`);
  }
  const pipeline: Pipeline = createPipelineFromOptions({
    tlsOptions: options.tlsOptions,
    retryOptions: options.retryOptions,
    agent: options.agent,
    proxyOptions: options.proxyOptions,
    userAgentOptions: {
      userAgentPrefix: [options.userAgentOptions?.userAgentPrefix, "hsm-lifecycle-keyvault-admin/0.1.0"]
        .filter(Boolean)
        .join(" "),
    },
  });
  // Same placement as keyvault-keys: the challenge policy sends the first request bodiless, reads the
  // WWW-Authenticate challenge and then attaches tokens for the announced resource.
  pipeline.addPolicy(
    keyVaultAuthenticationPolicy(credential, {
      disableChallengeResourceVerification: options.disableChallengeResourceVerification === true && isLoopbackUrl(base),
    }),
  );
  const httpClient = options.httpClient ?? createDefaultHttpClient();
  const apiVersion = options.serviceVersion ?? DEFAULT_ADMIN_API_VERSION;

  return {
    vaultUrl: base,
    apiVersion,
    async send<T>(req: AdminRequest): Promise<AdminResponse<T>> {
      const url = buildUrl(base, req.pathOrUrl, apiVersion, req.query);
      const request = createPipelineRequest({
        url,
        method: req.method,
        headers: createHttpHeaders({ accept: "application/json" }),
        abortSignal: req.abortSignal,
      });
      if (req.body !== undefined) {
        request.headers.set("content-type", "application/json");
        request.body = JSON.stringify(req.body);
      }
      const response = await pipeline.sendRequest(httpClient, request);
      const body = parseBody(response);
      if (!req.expectedStatuses.includes(response.status)) {
        throw toRestError(response, body);
      }
      return { status: response.status, headers: response.headers.toJSON(), body: body as T };
    },
  };
}

/**
 * Builds the request URL without `new URL(path, base)`: RBAC paths start with `//keys/...`, which URL
 * resolution would read as a protocol-relative URL with host `keys`.
 */
function buildUrl(
  base: string,
  pathOrUrl: string,
  apiVersion: string,
  query: Record<string, string | undefined> = {},
): string {
  const url = new URL(/^https?:\/\//i.test(pathOrUrl) ? pathOrUrl : base + pathOrUrl);
  if (!url.searchParams.has("api-version")) url.searchParams.set("api-version", apiVersion);
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined) url.searchParams.set(name, value);
  }
  return url.toString();
}

function parseBody(response: PipelineResponse): unknown {
  const text = response.bodyAsText;
  if (text === undefined || text === null || text === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function toRestError(response: PipelineResponse, body: unknown): RestError {
  const inner = isRecord(body) && isRecord(body["error"]) ? body["error"] : isRecord(body) ? body : {};
  const code = typeof inner["code"] === "string" ? inner["code"] : undefined;
  const message =
    typeof inner["message"] === "string" ? inner["message"] : `Unexpected status code: ${response.status}`;
  return new RestError(message, {
    code,
    statusCode: response.status,
    request: response.request,
    response,
  });
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
