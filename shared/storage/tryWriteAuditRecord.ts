import type { ContainerClient } from "@azure/storage-blob";
import { writeAuditRecord } from "./writeAuditRecord";

/** Whether an audit record was stored, and where or why not. */
export type AuditRecordOutcome = { written: true; blob: string } | { written: false; error: string };

/**
 * `writeAuditRecord` for steps whose audit record must not fail the step (an outage comes back as a value the
 * caller reports): no container configured or a failed write is `{ written: false, error }`. Never throws.
 */
export async function tryWriteAuditRecord(container: ContainerClient | undefined, blob: string, record: Record<string, unknown>): Promise<AuditRecordOutcome> {
  if (container === undefined) return { written: false, error: "no audit container configured" };
  try {
    await writeAuditRecord(container, blob, record);
    return { written: true, blob };
  } catch (e) {
    return { written: false, error: (e as Error).message };
  }
}
