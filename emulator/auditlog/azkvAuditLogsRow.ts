/**
 * An audit record as a row of AZKVAuditLogs, the resource-specific table Azure Monitor lists for the AuditEvent
 * category of microsoft.keyvault/managedhsms (diagnostic setting "Resource specific" destination). Columns keep
 * their types: Identity and Properties are dynamic objects, HttpStatusCode an int.
 */
import type { AuditRecord } from "../audit";
import { EMULATOR_WORKSPACE_ID } from "./azureDiagnosticsRow";

export interface AzkvAuditLogsRow {
  TenantId: string;
  TimeGenerated: string;
  _ResourceId: string;
  Category: "AuditEvent";
  OperationName: string;
  OperationVersion: string;
  ResultType: string;
  ResultSignature: string;
  ResultDescription: string;
  DurationMs: number;
  CallerIpAddress: string;
  CorrelationId: string;
  Identity: { claim: Record<string, string> };
  ClientInfo: string;
  RequestUri: string;
  Id: string;
  HttpStatusCode: number;
  SubnetId: string;
  SourceSystem: "Azure";
  Type: "AZKVAuditLogs";
}

export function azkvAuditLogsRow(r: AuditRecord): AzkvAuditLogsRow {
  const claim: Record<string, string> = {};
  for (const [name, value] of Object.entries(r.identity.claim)) if (typeof value === "string") claim[name] = value;
  return {
    TenantId: EMULATOR_WORKSPACE_ID,
    TimeGenerated: r.time,
    _ResourceId: r.resourceId.toLowerCase(),
    Category: r.category,
    OperationName: r.operationName,
    OperationVersion: r.operationVersion,
    ResultType: r.resultType,
    ResultSignature: r.resultSignature,
    ResultDescription: r.resultDescription ?? "",
    DurationMs: r.durationMs,
    CallerIpAddress: r.callerIpAddress,
    CorrelationId: r.correlationId,
    Identity: { claim },
    ClientInfo: r.properties.clientInfo ?? "",
    RequestUri: r.properties.requestUri,
    Id: r.properties.id ?? "",
    HttpStatusCode: r.properties.httpStatusCode,
    SubnetId: "(unknown)",
    SourceSystem: "Azure",
    Type: "AZKVAuditLogs",
  };
}
