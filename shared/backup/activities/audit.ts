import type { ContainerClient } from "@azure/storage-blob";
import { LifecycleError } from "../../errors/lifecycleError";
import type { BackupCompletedData, BackupFailedData } from "../../events/lifecycleEventData";
import { LifecycleEventType } from "../../events/lifecycleEventTypes";
import type { LifecyclePublisher, PublishOutcome } from "../../events/lifecyclePublisher";
import { writeAuditRecord } from "../../storage/writeAuditRecord";
import type { RotationStarterClient } from "../../rotation/activities/durableStatus";
import { startAuditRecordRetry, type AuditRetryStart } from "../../auditRetry/startAuditRecordRetry";

/** What `recordBackupOutcome` needs: the lifecycle topic and the audit container. */
export interface BackupAuditDeps {
  publisher: LifecyclePublisher;
  /** `AUDIT_CONTAINER`; created on first use. */
  auditContainer: ContainerClient;
  now(): Date;
  /** The object id of the identity the backup runs as (from its own token), for the record and its row. */
  principalId?: () => Promise<string | undefined>;
  /** The durable client, to hand a failed audit write to `auditRecordRetry` (absent: the start is reported failed). */
  starter?: RotationStarterClient;
  /** Error log (a retry that could not be started). */
  logError?: (line: string) => void;
}

export type RecordBackupOutcomeInput =
  | { outcome: "completed"; night: string; data: BackupCompletedData; details: Record<string, unknown> }
  | { outcome: "failed"; night: string; data: BackupFailedData; details: Record<string, unknown> };

export interface RecordBackupOutcomeOutput {
  event: PublishOutcome;
  audit: { written: true; blob: string } | { written: false; error: string; retry?: AuditRetryStart };
}

/**
 * Activity `recordBackupOutcome`: publishes `BackupCompleted` / `BackupFailed` to the lifecycle topic and
 * writes one audit record (`{AUDIT_CONTAINER}/backup/{hsm}/{night}/{time}-{outcome}.json`). Neither can
 * fail the backup it reports on: a publish or audit failure (storage unreachable is exactly when a
 * BackupFailed is sent) comes back as a value in the output, which the orchestration keeps.
 * The event id is deterministic per run and outcome, so a replayed or retried activity lets subscribers
 * dedupe.
 */
export async function recordBackupOutcome(input: RecordBackupOutcomeInput, deps: BackupAuditDeps): Promise<RecordBackupOutcomeOutput> {
  if ((input?.outcome !== "completed" && input?.outcome !== "failed") || typeof input.night !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(input.night)) {
    throw new LifecycleError("BadParameter", `recordBackupOutcome needs {outcome: "completed"|"failed", night: "yyyy-MM-dd", data} (got ${JSON.stringify({ outcome: input?.outcome, night: input?.night })}).`);
  }
  const id = `${input.data.runId}:${input.outcome}`;
  const event =
    input.outcome === "completed"
      ? await deps.publisher.publish({ type: LifecycleEventType.BackupCompleted, data: input.data, id, time: new Date(input.data.completedAt) })
      : await deps.publisher.publish({ type: LifecycleEventType.BackupFailed, data: input.data, id, time: new Date(input.data.failedAt) });

  const recordedAt = deps.now().toISOString();
  const principalId = await deps.principalId?.().catch(() => undefined);
  const blob = `backup/${input.data.hsmName}/${input.night}/${recordedAt.replace(/[:.]/g, "")}-${input.outcome}.json`;
  const record = {
    schema: "hsm-lifecycle/audit/backup",
    schemaVersion: 1,
    recordedAt,
    outcome: input.outcome,
    data: input.data,
    details: input.details,
    event: { type: event.type, id: event.id, kind: event.kind, ...(event.kind === "failed" ? { error: event.error } : {}) },
    ...(principalId === undefined ? {} : { principalId }),
  };
  // Write-once and redacted (a cause text may quote a service message); a failure is a value, as above, and
  // the record is handed to `auditRecordRetry` (storage unreachable is exactly when a BackupFailed is recorded).
  try {
    await writeAuditRecord(deps.auditContainer, blob, record);
    return { event, audit: { written: true, blob } };
  } catch (e) {
    const retry = await startAuditRecordRetry(deps.starter, { workload: "backup", blobName: blob, record }, e, deps.now(), (line) => deps.logError?.(line));
    return { event, audit: { written: false, error: (e as Error).message, ...(retry.kind === "conflict" ? {} : { retry }) } };
  }
}
