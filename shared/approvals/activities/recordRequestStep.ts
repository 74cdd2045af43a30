import type { ContainerClient } from "@azure/storage-blob";
import type { OperationRequestData } from "../../events/lifecycleEventData";
import { LifecycleEventType } from "../../events/lifecycleEventTypes";
import type { LifecyclePublisher } from "../../events/lifecyclePublisher";
import type { RotationStarterClient } from "../../rotation/activities/durableStatus";
import { auditHandOff, tryWriteAuditRecord, type AuditRecordOutcome } from "../../storage/tryWriteAuditRecord";

export interface RequestAuditDeps {
  publisher?: LifecyclePublisher;
  auditContainer?: ContainerClient;
  now(): Date;
  /** The durable client, to hand a failed audit write to `auditRecordRetry` (absent: the hand-off is reported failed). */
  starter?: RotationStarterClient;
  /** Error log (an audit retry that could not be started). */
  logError?: (line: string) => void;
}

export interface RecordRequestStepInput {
  data: OperationRequestData;
  /** Step number within the request: makes the event id and the audit blob name deterministic. */
  seq: number | string;
}

export interface RecordRequestStepOutput {
  event: "published" | "failed";
  audit: AuditRecordOutcome;
}

/**
 * Activity `recordRequestStep`: one audit record (write-once, `{AUDIT_CONTAINER}/rotation/requests/{id}/{seq}-{action}.json`)
 * and one `HsmLifecycle.OperationRequest` event per request step. Neither fails the request: an outage comes back as a
 * value the orchestration logs, and a failed audit write is handed to `auditRecordRetry` (as the rotation identity,
 * whose role covers `rotation/*`), so an outage does not lose the step's record. The event id (`request:{id}:{seq}`) is stable, so a replayed publish is a duplicate.
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
  return { event, audit: await tryWriteAuditRecord(deps.auditContainer, blob, record, auditHandOff("rotation", deps)) };
}
