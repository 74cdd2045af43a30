import type { ContainerClient } from "@azure/storage-blob";
import { lifecycleRowOf, type LifecycleRow } from "../../shared/lifecycleLog/lifecycleRow";
import { LOCAL_ROWS_PREFIX } from "../../shared/lifecycleLog/lifecycleRowSink";

/** One audit record as stored (blob name, parsed record, raw text for the exposure scan) and its table row. */
export interface AuditEntry {
  blob: string;
  record: Record<string, unknown>;
  text: string;
  row: LifecycleRow;
  /** When the recorded thing happened: see {@link happenedAtOf}. */
  happenedAt: string;
}

/**
 * The instant the record's event carries (the drill's finish, the HSM job's completion, the new version's
 * creation, the failure the orchestration saw: the times its Event Grid event carries), else when the record was
 * written. A period is about what happened in it: a backup that completed at 23:59 and was recorded a minute later
 * belongs to the day it completed, and on a stack whose HSM and orchestration clocks run ahead of the machine's
 * (time-compressed) the event's own time is the one the rest of the evidence is on.
 */
export function happenedAtOf(record: Record<string, unknown>, row: LifecycleRow): string {
  const data = typeof record["data"] === "object" && record["data"] !== null ? (record["data"] as Record<string, unknown>) : {};
  for (const v of [record["finishedAt"], data["completedAt"], data["rotatedAt"], data["failedAt"]]) {
    if (typeof v === "string" && /^\d{4}-\d{2}-\d{2}T/.test(v) && Number.isFinite(Date.parse(v))) return new Date(v).toISOString();
  }
  return row.TimeGenerated;
}

/**
 * Every audit record in the container, whatever workflow wrote it (rotation, backup, drill, rejected events,
 * approvals of other features alike), read as the same rows the app sends to `HsmLifecycle_CL`, so the evidence
 * pack and the SOC's table say the same thing. Records that are not JSON are kept with an `Unreadable` row.
 */
export async function readAuditEntries(container: ContainerClient): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  try {
    for await (const b of container.listBlobsFlat()) {
      if (b.name.startsWith(LOCAL_ROWS_PREFIX)) continue;
      const text = (await container.getBlobClient(b.name).downloadToBuffer()).toString("utf8");
      let record: Record<string, unknown>;
      try {
        const parsed: unknown = JSON.parse(text);
        record = typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : { value: parsed };
      } catch {
        record = { operation: "Unreadable", recordedAt: b.properties.lastModified?.toISOString() };
      }
      const row = lifecycleRowOf(b.name, record);
      entries.push({ blob: b.name, record, text, row, happenedAt: happenedAtOf(record, row) });
    }
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return entries;
    throw e;
  }
  return entries.sort((a, b) => a.happenedAt.localeCompare(b.happenedAt));
}
