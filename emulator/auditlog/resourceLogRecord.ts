/**
 * An audit record as Azure Monitor writes Managed HSM resource logs to a storage account (container
 * insights-logs-auditevent) or an event hub: the field set of Microsoft's "Managed HSM logging" sample, where request
 * details are top-level fields, `properties` carries the pool's SKU and `identity` is a JSON string of the claims with
 * the URI claim names split into nested objects. resultSignature, resultDescription (both in that page's field table)
 * and id (the object the request named) are added when known.
 */
import { EMULATOR_TENANT_ID } from "../auth/tokens";
import type { AuditClaims, AuditRecord } from "../audit";
import { resourceOfRecord } from "./resourceOfRecord";

export interface ResourceLogRecord {
  TenantId: string;
  time: string;
  resourceId: string;
  operationName: string;
  operationVersion: string;
  category: "AuditEvent";
  resultType: string;
  resultSignature: string;
  resultDescription?: string;
  properties: { PoolType: string; sku_Family: string; sku_Name: string };
  durationMs: number;
  callerIpAddress: string;
  identity: string;
  clientInfo: string;
  correlationId: string;
  subnetId: string;
  httpStatusCode: number;
  PoolName: string;
  requestUri: string;
  id?: string;
  resourceGroup: string;
  resourceProvider: string;
  resource: string;
  resourceType: string;
}

export function resourceLogRecord(r: AuditRecord): ResourceLogRecord {
  const res = resourceOfRecord(r.resourceId);
  const vault = res.type === "VAULTS";
  return {
    TenantId: EMULATOR_TENANT_ID,
    time: r.time,
    resourceId: r.resourceId,
    operationName: r.operationName,
    operationVersion: r.operationVersion,
    category: "AuditEvent",
    resultType: r.resultType,
    resultSignature: r.resultSignature,
    ...(r.resultDescription !== undefined ? { resultDescription: r.resultDescription } : {}),
    properties: vault ? { PoolType: "Vault", sku_Family: "A", sku_Name: "premium" } : { PoolType: "M-HSM", sku_Family: "B", sku_Name: "Standard_B1" },
    durationMs: r.durationMs,
    callerIpAddress: r.callerIpAddress,
    identity: JSON.stringify({ claim: nestedClaims(r.identity.claim) }),
    clientInfo: r.properties.clientInfo ?? "",
    correlationId: r.correlationId,
    // No private endpoints here: the service logs "(unknown)" for calls over the public endpoint.
    subnetId: "(unknown)",
    httpStatusCode: r.properties.httpStatusCode,
    PoolName: res.name.toLowerCase(),
    requestUri: r.properties.requestUri,
    ...(r.properties.id !== undefined ? { id: r.properties.id } : {}),
    resourceGroup: res.resourceGroup,
    resourceProvider: res.provider,
    resource: res.name,
    resourceType: vault ? "vaults" : "managedHSMs",
  };
}

/** `{"appid", "http_schemas_microsoft_com_identity": {"claims": {"objectidentifier"}}, …}`, as in the sample. */
function nestedClaims(c: AuditClaims): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (c.oid !== undefined) out["oid"] = c.oid;
  if (c.appid !== undefined) out["appid"] = c.appid;
  const objectId = c["http://schemas.microsoft.com/identity/claims/objectidentifier"];
  if (objectId !== undefined) out["http_schemas_microsoft_com_identity"] = { claims: { objectidentifier: objectId } };
  const upn = c["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"];
  if (upn !== undefined) out["http_schemas_xmlsoap_org_ws_2005_05_identity"] = { claims: { upn } };
  return out;
}
