import type { DurableClient } from "durable-functions";
import type { AuditRetryView } from "../fleet/auditRetryAttention";
import { orchestrationNames } from "../names";

/** How far back the fleet looks for audit record retries (a retry gives up 72 h after it starts). */
export const AUDIT_RETRY_LIST_DAYS = 30;

/**
 * The `auditRecordRetry` instances started in the last AUDIT_RETRY_LIST_DAYS days, as the fleet's attention rules
 * read them. One instance per record (a restart replaces it), so each record's latest state is what shows.
 */
export async function listAuditRetries(client: Pick<DurableClient, "getStatusBy">, now: Date): Promise<AuditRetryView[]> {
  const all = await client.getStatusBy({ createdTimeFrom: new Date(now.getTime() - AUDIT_RETRY_LIST_DAYS * 86_400_000) });
  const views: AuditRetryView[] = [];
  for (const s of all) {
    if (s.name !== orchestrationNames.auditRecordRetry) continue;
    const input = (typeof s.input === "object" && s.input !== null ? s.input : {}) as { blobName?: unknown; workload?: unknown };
    views.push({
      instanceId: s.instanceId,
      runtimeStatus: String(s.runtimeStatus),
      createdTime: new Date(s.createdTime).toISOString(),
      blobName: typeof input.blobName === "string" ? input.blobName : "(unknown blob)",
      workload: typeof input.workload === "string" ? input.workload : "(unknown)",
      ...(s.customStatus === undefined || s.customStatus === null ? {} : { customStatus: s.customStatus }),
      ...(s.output === undefined || s.output === null ? {} : { output: s.output }),
    });
  }
  return views;
}
