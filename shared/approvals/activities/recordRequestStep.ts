import type { ContainerClient } from "@azure/storage-blob";
import type { OperationRequestData } from "../../events/lifecycleEventData";
import { LifecycleEventType } from "../../events/lifecycleEventTypes";
import type { LifecyclePublisher } from "../../events/lifecyclePublisher";
import type { RotationStarterClient } from "../../rotation/activities/durableStatus";
import { auditHandOff, tryWriteAuditRecord, type AuditRecordOutcome } from "../../storage/tryWriteAuditRecord";
import type { RequestIndex } from "../requestIndex";

export interface RequestAuditDeps {
  publisher?: LifecyclePublisher;
  auditContainer?: ContainerClient;
  /** Where a final step closes the request's index entry (see requestIndex.ts). */
  requestIndex?: RequestIndex;
  now(): Date;
  /** The durable client, to hand a failed audit write to `auditRecordRetry` (absent: the hand-off is reported failed). */
  starter?: RotationStarterClient;
  /** Error log (an audit retry that could not be started). */
  logError?: (line: string) => void;
}

/** The steps after which a request takes no more decisions and runs nothing more of its own. */
const FINAL_ACTIONS = new Set<string>(["rejected", "expired", "completed", "failed"]);

export interface RecordRequestStepInput {
  data: OperationRequestData;
  /** Step number within the request: makes the event id and the audit blob name deterministic. */
  seq: number | string;
}

export interface RecordRequestStepOutput {
  event: "published" | "failed";
  audit: AuditRecordOutcome;
  /** Final steps only: whether the request index now has the request closed (else `requests` keeps asking durable). */
  index?: { closed: true } | { closed: false; error: string };
}

/**
 * Activity `recordRequestStep`: one audit record (write-once, `{AUDIT_CONTAINER}/rotation/requests/{id}/{seq}-{action}.json`)
 * and one `HsmLifecycle.OperationRequest` event per request step. Neither fails the request: an outage comes back as a
 * value the orchestration logs, and a failed audit write is handed to `auditRecordRetry` (as the rotation identity,
 * whose role covers `rotation/*`), so an outage does not lose the step's record. The event id (`request:{id}:{seq}`)
 * is stable, so a replayed publish is a duplicate. A final step (rejected, expired, completed, failed) also closes the
 * request's index entry, best effort too.
 */
export async function recordRequestStep(input: RecordRequestStepInput, deps: RequestAuditDeps): Promise<RecordRequestStepOutput> {
  const { data, seq } = input;
  const id = `request:${data.request}:${seq}`;
  let event: RecordRequestStepOutput["event"] = "failed";
  if (deps.publisher !== undefined) {
    const outcome = await deps.publisher.publish({ type: LifecycleEventType.OperationRequest, id, time: new Date(data.at), data });
    event = outcome.kind === "published" ? "published" : "failed";
  }
  const blob = `rotation/requests/${data.request}/${String(seq).padStart(3, "0")}-${data.action}.json`;
  const record = { schema: "hsm-lifecycle/audit/request", schemaVersion: 1, recordedAt: deps.now().toISOString(), eventId: id, data, event };
  const audit = await tryWriteAuditRecord(deps.auditContainer, blob, record, auditHandOff("rotation", deps));
  if (!FINAL_ACTIONS.has(data.action)) return { event, audit };
  return { event, audit, index: await closeIndexEntry(deps.requestIndex, data) };
}

/** Never throws: an index left open costs the listing one durable read per call, it hides nothing. */
async function closeIndexEntry(index: RequestIndex | undefined, data: OperationRequestData): Promise<NonNullable<RecordRequestStepOutput["index"]>> {
  if (index === undefined) return { closed: false, error: "no request index configured" };
  try {
    await index.closed(data.request, { status: data.status, at: data.at });
    return { closed: true };
  } catch (e) {
    return { closed: false, error: (e as Error).message };
  }
}
