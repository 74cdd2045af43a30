import type { ContainerClient } from "@azure/storage-blob";
import { redactSecrets } from "../../errors/redactSecrets";
import { LifecycleEventType } from "../../events/lifecycleEventTypes";
import type { LifecyclePublisher, PublishOutcome } from "../../events/lifecyclePublisher";
import type { RotationOutcomeInput } from "../eventInput";
import { writeAuditRecord } from "../../storage/writeAuditRecord";
import type { RotationStarterClient } from "./durableStatus";
import { scheduleRetirement, type ScheduleRetirementOutput } from "./scheduleRetirement";
import { startAuditRecordRetry, type AuditRetryStart } from "../../auditRetry/startAuditRecordRetry";

/** What `recordRotationOutcome` needs: the lifecycle topic and the audit container (either may be absent). */
export interface RotationAuditDeps {
  publisher?: LifecyclePublisher;
  /** `AUDIT_CONTAINER`; created on first use. */
  auditContainer?: ContainerClient;
  /** The durable client, for the retirement start (absent: a requested retirement is reported as not started). */
  starter?: RotationStarterClient;
  now(): Date;
  /** The object id of the identity the rotation runs as (from its own token), for the record and its row. */
  principalId?: () => Promise<string | undefined>;
  /** Error log (an audit retry that could not be started). */
  logError?: (line: string) => void;
}

export interface RecordRotationOutcomeOutput {
  event: PublishOutcome;
  audit: { written: true; blob: string } | { written: false; error: string; retry?: AuditRetryStart };
  retirement?: ScheduleRetirementOutput | { kind: "failed"; instanceId: string; error: string };
}

/**
 * Activity `recordRotationOutcome`: publishes KeyRotated / KeyRotationFailed to the lifecycle topic and writes
 * one audit record (`{AUDIT_CONTAINER}/rotation/{instance}/{key}/{time}-{type}.json`). Neither can fail the
 * rotation it reports on: a topic or storage outage comes back as a value that the orchestration keeps.
 * The event id is deterministic (from the rotation instance id), so a replayed publish is a duplicate
 * subscribers can drop.
 */
export async function recordRotationOutcome(input: RotationOutcomeInput, deps: RotationAuditDeps): Promise<RecordRotationOutcomeOutput> {
  // The retirement start does not depend on the event or the audit record: it runs beside them, so the
  // rotation completes one round trip sooner.
  const retirement = input.retirement === undefined ? undefined : startRetirement(input.retirement, deps);
  const event = await publishEvent(input, deps);
  const out: RecordRotationOutcomeOutput = { event, audit: await writeAudit(input, event, deps) };
  if (retirement !== undefined) out.retirement = await retirement;
  return out;
}

async function publishEvent(input: RotationOutcomeInput, deps: RotationAuditDeps): Promise<PublishOutcome> {
  const time = new Date(input.time);
  if (deps.publisher === undefined) return { kind: "failed", id: input.id, type: input.type, attempts: 0, error: "no lifecycle publisher configured (LIFECYCLE_TOPIC_ENDPOINT)" };
  if (input.type === "KeyRotated") return deps.publisher.publish({ type: LifecycleEventType.KeyRotated, id: input.id, time, data: input.data });
  return deps.publisher.publish({ type: LifecycleEventType.KeyRotationFailed, id: input.id, time, data: input.data });
}

async function startRetirement(retirement: NonNullable<RotationOutcomeInput["retirement"]>, deps: RotationAuditDeps): Promise<NonNullable<RecordRotationOutcomeOutput["retirement"]>> {
  try {
    if (deps.starter === undefined) throw new Error("no durable client given to recordRotationOutcome");
    return await scheduleRetirement(retirement, deps.starter);
  } catch (e) {
    // Old versions then stay enabled longer (the next rotation's retirement disables them): reported, not thrown.
    return { kind: "failed", instanceId: retirement.instanceId, error: redactSecrets((e as Error).message ?? String(e)) };
  }
}

async function writeAudit(input: RotationOutcomeInput, event: PublishOutcome, deps: RotationAuditDeps): Promise<RecordRotationOutcomeOutput["audit"]> {
  if (deps.auditContainer === undefined) return { written: false, error: "no audit container configured" };

  const recordedAt = deps.now().toISOString();
  const principalId = await deps.principalId?.().catch(() => undefined);
  const blob = `rotation/${input.data.instance}/${input.data.keyName}/${recordedAt.replace(/[:.]/g, "")}-${input.type}.json`;
  const record = {
    schema: "hsm-lifecycle/audit/rotation",
    schemaVersion: 1,
    recordedAt,
    type: input.type,
    eventId: input.id,
    data: input.data,
    ...(input.details === undefined ? {} : { details: input.details }),
    event: { kind: event.kind, ...(event.kind === "failed" ? { error: event.error } : {}) },
    ...(input.retirement === undefined ? {} : { retirement: input.retirement.instanceId }),
    ...(principalId === undefined ? {} : { principalId }),
  };
  // Write-once and redacted (a failure message may quote a service answer). A failed write is handed to
  // `auditRecordRetry` (the durable client is the retirement start's), so the record is not lost to an outage.
  try {
    await writeAuditRecord(deps.auditContainer, blob, record);
    return { written: true, blob };
  } catch (e) {
    const retry = await startAuditRecordRetry(deps.starter, { workload: "rotation", blobName: blob, record }, e, deps.now(), (line) => deps.logError?.(line));
    return { written: false, error: (e as Error).message, ...(retry.kind === "conflict" ? {} : { retry }) };
  }
}
