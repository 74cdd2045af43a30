/**
 * The columns every Log Analytics table of a resource log shares, whatever the table (AzureDiagnostics or a
 * resource-specific one such as AZKVAuditLogs).
 */
import type { AuditRecord } from "../audit";

/** The workspace the emulator's rows pretend to sit in (a table's TenantId is the workspace id). */
export const EMULATOR_WORKSPACE_ID = "00000000-0000-4000-8000-00000000a0d1";

export interface StandardColumns {
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
  CorrelationId: string;
  SourceSystem: "Azure";
}

export function standardColumns(r: AuditRecord): StandardColumns {
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
    CorrelationId: r.correlationId,
    SourceSystem: "Azure",
  };
}
