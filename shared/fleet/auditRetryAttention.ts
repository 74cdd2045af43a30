import { formatDuration } from "../drill/measureObjectives";

/** One `auditRecordRetry` instance as the fleet reads it (durable status: input, custom status, output). */
export interface AuditRetryView {
  instanceId: string;
  runtimeStatus: string;
  createdTime: string;
  /** The record's blob and whose identity writes it (from the instance's input). */
  blobName: string;
  workload: string;
  /** `{stage: "waiting", attempt, waitingUntil, error}` while it waits for a slot. */
  customStatus?: unknown;
  /** `AuditRecordRetryOutput` once it ended. */
  output?: unknown;
}

/** A retry still pending this long means the audit trail has been failing that long: a person should look. */
export const AUDIT_RETRY_PENDING_ATTENTION_MS = 3_600_000;

/**
 * The audit-trail findings: a record whose retry gave up (or whose retry failed outright) is missing from the audit
 * trail until a person writes it; one still pending an hour after its retry started means the audit container has
 * been failing that long. Retries that wrote their record, or found it written, need nobody.
 */
export function auditRetryAttention(retries: readonly AuditRetryView[], now: Date): string[] {
  const out: string[] = [];
  for (const r of [...retries].sort((a, b) => a.createdTime.localeCompare(b.createdTime) || a.blobName.localeCompare(b.blobName))) {
    const output = (r.output ?? {}) as { kind?: unknown; attempts?: unknown; error?: unknown };
    const status = (r.customStatus ?? {}) as { attempt?: unknown; waitingUntil?: unknown; error?: unknown };
    const fix = `Fix: restore the ${r.workload} identity's write access to the audit container (AUDIT_CONTAINER), then re-run the workflow, or write the record from the input of durable instance ${r.instanceId}.`;
    if (r.runtimeStatus === "Completed" && output.kind === "gaveUp") {
      out.push(`audit record ${r.blobName} is missing: its retry ${r.instanceId} gave up after ${String(output.attempts)} attempts over 72 h (last: ${lastError(status.error ?? output.error)}). ${fix}`);
    } else if (r.runtimeStatus === "Failed" || r.runtimeStatus === "Terminated") {
      out.push(`audit record ${r.blobName} is missing: its retry ${r.instanceId} ended ${r.runtimeStatus.toLowerCase()} before writing it. ${fix}`);
    } else if ((r.runtimeStatus === "Running" || r.runtimeStatus === "Pending") && now.getTime() - Date.parse(r.createdTime) >= AUDIT_RETRY_PENDING_ATTENTION_MS) {
      const next = typeof status.waitingUntil === "string" ? `, next attempt (${String(status.attempt)}) at ${status.waitingUntil}` : "";
      out.push(`audit record not yet written: ${r.blobName}, retrying for ${formatDuration(now.getTime() - Date.parse(r.createdTime))}${next} (last: ${lastError(status.error)}). Fix: check that the ${r.workload} identity can write to the audit container (AUDIT_CONTAINER); the retry writes it once it can.`);
    }
  }
  return out;
}

function lastError(e: unknown): string {
  // One line: service messages carry line breaks (RequestId, Time) that would split an attention item.
  return typeof e === "string" && e.trim() !== "" ? e.replace(/\s+/g, " ").trim().slice(0, 300) : "unknown";
}
