import type { TokenCredential } from "@azure/core-auth";
import {
  bearerTokenAuthenticationPolicy,
  createDefaultHttpClient,
  createHttpHeaders,
  createPipelineFromOptions,
  createPipelineRequest,
  type HttpClient,
  type PipelineOptions,
} from "@azure/core-rest-pipeline";
import { DRILL_TARGET_TAG, type HsmIdentity, type HsmIdentityReader } from "./hsmIdentity";

/** `Microsoft.KeyVault/managedHSMs` GET (stable); the shape (`properties.hsmUri`, `tags`) is the same since 2021. */
export const MANAGED_HSM_ARM_API_VERSION = "2023-07-01";

export interface ArmHsmIdentityReaderOptions {
  /** HSM name (HSMS) → its ARM resource id (HSM_RESOURCE_IDS). */
  resourceIds: Readonly<Record<string, string>>;
  credential: TokenCredential;
  /** Management endpoint; default by the HSM's cloud (management.azure.com, .chinacloudapi.cn, .usgovcloudapi.net). */
  endpoint?: string;
  tlsOptions?: PipelineOptions["tlsOptions"];
  retryOptions?: PipelineOptions["retryOptions"];
  httpClient?: HttpClient;
}

/**
 * Identity of a configured Managed HSM from Azure Resource Manager: `GET {arm}{resourceId}` as the drill
 * identity (Reader on the HSM resource). ARM, not the HSM, says which URL belongs to that resource
 * (`properties.hsmUri`) and what its owners declared it to be (the `hsm-lifecycle-role` tag), so an HSM — or
 * whoever answers at a configured URL — cannot claim to be another one. Fails (the interlock then refuses) when
 * the HSM has no HSM_RESOURCE_IDS entry or ARM does not answer with a managed HSM.
 */
export function armHsmIdentityReader(options: ArmHsmIdentityReaderOptions): HsmIdentityReader {
  const httpClient = options.httpClient ?? createDefaultHttpClient();
  const pipelines = new Map<string, ReturnType<typeof createPipelineFromOptions>>();
  const pipelineFor = (endpoint: string): ReturnType<typeof createPipelineFromOptions> => {
    let pipeline = pipelines.get(endpoint);
    if (pipeline === undefined) {
      pipeline = createPipelineFromOptions({ ...(options.tlsOptions === undefined ? {} : { tlsOptions: options.tlsOptions }), ...(options.retryOptions === undefined ? {} : { retryOptions: options.retryOptions }) });
      pipeline.addPolicy(bearerTokenAuthenticationPolicy({ credential: options.credential, scopes: `${endpoint}/.default` }));
      pipelines.set(endpoint, pipeline);
    }
    return pipeline;
  };
  return async (hsm) => {
    const resourceId = options.resourceIds[hsm.name];
    if (resourceId === undefined) {
      throw new Error(`HSM_RESOURCE_IDS has no ARM resource id for "${hsm.name}", so the drill cannot learn from Azure which HSM ${hsm.url} is. Fix: add "${hsm.name}=/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.KeyVault/managedHSMs/<name>" to HSM_RESOURCE_IDS.`);
    }
    const endpoint = (options.endpoint ?? managementEndpointFor(hsm.url)).replace(/\/+$/, "");
    const url = `${endpoint}${resourceId}?api-version=${MANAGED_HSM_ARM_API_VERSION}`;
    const response = await pipelineFor(endpoint).sendRequest(httpClient, createPipelineRequest({ url, method: "GET", headers: createHttpHeaders({ accept: "application/json" }) }));
    let body: Record<string, unknown> | undefined;
    try {
      body = JSON.parse(response.bodyAsText ?? "") as Record<string, unknown>;
    } catch {
      body = undefined;
    }
    if (response.status !== 200 || body === undefined) {
      const error = (body?.["error"] as { code?: string; message?: string } | undefined) ?? {};
      throw new Error(`ARM answered ${response.status} for ${resourceId}${error.code === undefined ? "" : ` (${error.code}: ${error.message ?? ""})`}. Fix: give the drill identity Reader on the HSM resource and check HSM_RESOURCE_IDS.`);
    }
    const properties = (body["properties"] ?? {}) as Record<string, unknown>;
    const tags = (body["tags"] ?? {}) as Record<string, unknown>;
    const id = typeof body["id"] === "string" ? body["id"] : "";
    if (id.toLowerCase() !== resourceId.toLowerCase() || String(body["type"]).toLowerCase() !== "microsoft.keyvault/managedhsms" || typeof body["name"] !== "string" || typeof properties["hsmUri"] !== "string") {
      throw new Error(`ARM did not answer ${resourceId} with a managed HSM (id, type Microsoft.KeyVault/managedHSMs, name, properties.hsmUri). Fix: HSM_RESOURCE_IDS must name Managed HSM resources.`);
    }
    const identity: HsmIdentity = { name: body["name"], url: properties["hsmUri"], source: "arm", resourceId: id };
    const role = tags[DRILL_TARGET_TAG.name];
    if (typeof role === "string") identity.declaredRole = role;
    return identity;
  };
}

/** The Resource Manager endpoint of the cloud an HSM URL belongs to. */
export function managementEndpointFor(hsmUrl: string): string {
  const host = new URL(hsmUrl).hostname.toLowerCase();
  if (host.endsWith(".azure.cn")) return "https://management.chinacloudapi.cn";
  if (host.endsWith(".usgovcloudapi.net")) return "https://management.usgovcloudapi.net";
  return "https://management.azure.com";
}
