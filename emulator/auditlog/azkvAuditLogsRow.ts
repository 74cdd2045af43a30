/**
 * An audit record as a row of AZKVAuditLogs, the resource-specific table Azure Monitor lists for the AuditEvent
 * category of microsoft.keyvault/managedhsms (diagnostic setting "Resource specific" destination). Columns keep
 * their types: Identity is a dynamic object, HttpStatusCode an int. Vault-only and certificate columns are left out.
 */
import type { AuditRecord } from "../audit";
import { standardColumns, type StandardColumns } from "./standardColumns";

export interface AzkvAuditLogsRow extends StandardColumns {
  CallerIpAddress: string;
  Identity: { claim: Record<string, string> };
  ClientInfo: string;
  RequestUri: string;
  Id: string;
  HttpStatusCode: number;
  SubnetId: string;
  Type: "AZKVAuditLogs";
}

export function azkvAuditLogsRow(r: AuditRecord): AzkvAuditLogsRow {
  const claim: Record<string, string> = {};
  for (const [name, value] of Object.entries(r.identity.claim)) if (typeof value === "string") claim[name] = value;
  return {
    ...standardColumns(r),
    CallerIpAddress: r.callerIpAddress,
    Identity: { claim },
    ClientInfo: r.properties.clientInfo ?? "",
    RequestUri: r.properties.requestUri,
    Id: r.properties.id ?? "",
    HttpStatusCode: r.properties.httpStatusCode,
    // No private endpoints here: the service logs "(unknown)" for calls over the public endpoint.
    SubnetId: "(unknown)",
    Type: "AZKVAuditLogs",
  };
}
