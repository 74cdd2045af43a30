import type { ContainerClient } from "@azure/storage-blob";
import { lifecycleRowOf, type LifecycleRow } from "../../shared/lifecycleLog/lifecycleRow";
import { LOCAL_ROWS_PREFIX } from "../../shared/lifecycleLog/lifecycleRowSink";

/** One audit record as stored (blob name, parsed record, raw text for the exposure scan) and its table row. */
export interface AuditEntry {
  blob: string;
  record: Record<string, unknown>;
  text: string;
  row: LifecycleRow;
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
      entries.push({ blob: b.name, record, text, row: lifecycleRowOf(b.name, record) });
    }
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return entries;
    throw e;
  }
  return entries.sort((a, b) => a.row.TimeGenerated.localeCompare(b.row.TimeGenerated));
}
