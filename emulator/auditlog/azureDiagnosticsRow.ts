/**
 * An audit record as a row of the Log Analytics AzureDiagnostics table, where Managed HSM's AuditEvent logs land
 * (the table Microsoft's Managed HSM queries and Sentinel's Key Vault rules read). Azure Monitor flattens the
 * record: standard fields become PascalCase columns (CallerIPAddress, ResultSignature, DurationMs…), service fields
 * become `name_s` (string), `name_d` (number) or `name_g` (GUID) columns, with nested names joined by `_` and
 * characters other than letters and digits turned into `_` (identity.claim.appid → identity_claim_appid_g). A
 * column exists for the whole table, so a claim a caller's token lacked is an empty string, not a missing column.
 */
import type { AuditRecord } from "../audit";
import { resourceOfRecord } from "./resourceOfRecord";
import { standardColumns } from "./standardColumns";

export type AzureDiagnosticsRow = Record<string, string | number>;

export function azureDiagnosticsRow(r: AuditRecord): AzureDiagnosticsRow {
  const res = resourceOfRecord(r.resourceId);
  const c = r.identity.claim;
  return {
    ...standardColumns(r),
    ResourceId: r.resourceId,
    SubscriptionId: res.subscriptionId,
    ResourceGroup: res.resourceGroup,
    ResourceProvider: res.provider,
    ResourceType: res.type,
    Resource: res.name,
    CallerIPAddress: r.callerIpAddress,
    identity_claim_oid_g: c.oid ?? "",
    identity_claim_appid_g: c.appid ?? "",
    identity_claim_http_schemas_microsoft_com_identity_claims_objectidentifier_g: c["http://schemas.microsoft.com/identity/claims/objectidentifier"] ?? "",
    identity_claim_upn_s: c.upn ?? "",
    identity_claim_http_schemas_xmlsoap_org_ws_2005_05_identity_claims_upn_s: c["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"] ?? "",
    clientInfo_s: r.properties.clientInfo ?? "",
    requestUri_s: r.properties.requestUri,
    id_s: r.properties.id ?? "",
    httpStatusCode_d: r.properties.httpStatusCode,
    Type: "AzureDiagnostics",
  };
}
