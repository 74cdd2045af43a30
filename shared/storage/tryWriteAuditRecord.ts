import type { ContainerClient } from "@azure/storage-blob";
import type { AuditRetryWorkload } from "../auditRetry/auditRetryInput";
import { startAuditRecordRetry, type AuditRetryStart } from "../auditRetry/startAuditRecordRetry";
import type { RotationStarterClient } from "../rotation/activities/durableStatus";
import { writeAuditRecord } from "./writeAuditRecord";

/** Whether an audit record was stored, and where or why not (and, when not, whether `auditRecordRetry` took it over). */
export type AuditRecordOutcome = { written: true; blob: string } | { written: false; error: string; retry?: AuditRetryStart };

/** What a caller passes so a failed write is handed to `auditRecordRetry` (as `workload`, the identity that tried). */
export interface AuditHandOff {
  workload: AuditRetryWorkload;
  /** The durable client (absent: the hand-off is reported `failed` and logged). */
  starter?: RotationStarterClient;
  now(): Date;
  logError?: (line: string) => void;
}

/**
 * `writeAuditRecord` for steps whose audit record must not fail the step (an outage comes back as a value the
 * caller reports): no container configured or a failed write is `{ written: false, error }`. With `handOff`, a
 * failed write (not a `Conflict`) is handed to `auditRecordRetry`, so an outage does not lose the record. Never throws.
 */
export async function tryWriteAuditRecord(container: ContainerClient | undefined, blob: string, record: Record<string, unknown>, handOff?: AuditHandOff): Promise<AuditRecordOutcome> {
  if (container === undefined) return { written: false, error: "no audit container configured" };
  try {
    await writeAuditRecord(container, blob, record);
    return { written: true, blob };
  } catch (e) {
    const error = (e as Error).message;
    if (handOff === undefined) return { written: false, error };
    const retry = await startAuditRecordRetry(handOff.starter, { workload: handOff.workload, blobName: blob, record }, e, handOff.now(), (line) => handOff.logError?.(line));
    return { written: false, error, ...(retry.kind === "conflict" ? {} : { retry }) };
  }
}

/** The hand-off of an activity's deps (durable client, clock, error log), as `workload`. */
export function auditHandOff(workload: AuditRetryWorkload, deps: { starter?: RotationStarterClient; now?: () => Date; logError?: (line: string) => void }): AuditHandOff {
  return { workload, now: () => deps.now?.() ?? new Date(), ...(deps.starter === undefined ? {} : { starter: deps.starter }), ...(deps.logError === undefined ? {} : { logError: deps.logError }) };
}
