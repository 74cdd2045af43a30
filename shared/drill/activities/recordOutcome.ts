import type { ContainerClient } from "@azure/storage-blob";
import { drillEventFor } from "../drillEventFor";
import { DRILL_REPORT_SCHEMA, type DrillReport } from "../drillReport";
import { LifecycleError } from "../../errors/lifecycleError";
import type { LifecyclePublisher, PublishOutcome } from "../../events/lifecyclePublisher";
import { storageFailure } from "../../storage/storageFailure";
import { writeAuditRecord } from "../../storage/writeAuditRecord";
import type { RotationStarterClient } from "../../rotation/activities/durableStatus";
import { startAuditRecordRetry, type AuditRetryStart } from "../../auditRetry/startAuditRecordRetry";

export interface DrillOutcomeDeps {
  /** The drill-reports container (the report is read back from it, so the event matches the stored report). */
  reports: ContainerClient;
  /** The audit container (AUDIT_CONTAINER). */
  audit: ContainerClient;
  publisher: LifecyclePublisher;
  now?: () => Date;
  log?: (line: string) => void;
  /** The durable client, to hand a failed audit write to `auditRecordRetry` (set per invocation by the registration). */
  starter?: RotationStarterClient;
  /** Error log (an audit retry that could not be started). */
  logError?: (line: string) => void;
}

export interface RecordDrillOutcomeInput {
  drillId: string;
  /** `writeDrillReport`'s `jsonBlob`. */
  jsonBlob: string;
  trigger: "timer" | "http";
  /**
   * Set by the orchestration on one last call after the activity's durable retries ran out: a failed audit write
   * is then handed to `auditRecordRetry` (and reported in `auditRetry`) instead of thrown, so a storage outage
   * neither loses the record nor turns into the drill's failure.
   */
  handOff?: boolean;
}

export interface RecordDrillOutcomeOutput {
  /** `published` | `invalid` | `failed`: publishing never fails the drill, it is recorded here and in the audit record. */
  event: PublishOutcome["kind"];
  eventType: string;
  auditBlob: string;
  /** Only with `handOff`, when the write failed: the retry that now owns the record. */
  auditRetry?: Extract<AuditRetryStart, { kind: "started" | "exists" }>;
}

export const DRILL_AUDIT_SCHEMA = "hsm-lifecycle/audit-record";

/**
 * Activity `recordDrillOutcome`: publishes `DrillCompleted` / `DrillFailed` for the stored report (stable event
 * id `drill:{drillId}`, so a retried activity lets subscribers dedupe) and writes the drill's audit record
 * (`drills/{yyyy-mm-dd}/{drillId}.json` in the audit container, write-once: a retry keeps the first record). A publish failure is a
 * value; only a storage failure or a different record already at that name throws (the audit record is what a regulator
 * asks for), so durable retries it. With `handOff` (the last call, after those retries) a storage failure is handed
 * to `auditRecordRetry` instead, written later as the drill identity; only when that start fails too does it throw.
 */
export async function recordDrillOutcome(input: RecordDrillOutcomeInput, deps: DrillOutcomeDeps): Promise<RecordDrillOutcomeOutput> {
  if (!/^[A-Za-z0-9][A-Za-z0-9:._-]{0,200}$/.test(input.drillId)) {
    throw new LifecycleError("BadParameter", `drillId "${input.drillId}" must be letters, digits, ':', '.', '_' or '-'.`);
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\/report\.json$/.test(input.jsonBlob)) {
    throw new LifecycleError("BadParameter", `"${input.jsonBlob}" is not a drill report blob (expected "{drillId}/report.json" from writeDrillReport).`);
  }
  const report = await readReport(deps.reports, input.jsonBlob);
  if (report.drillId !== input.drillId) {
    throw new LifecycleError("BadParameter", `The report ${input.jsonBlob} belongs to drill "${report.drillId}", not "${input.drillId}".`);
  }
  const event = drillEventFor(report, input.drillId);
  const outcome = await deps.publisher.publish({ ...event, id: `drill:${input.drillId}`, time: new Date(report.finishedAt) });
  if (outcome.kind !== "published") deps.log?.(`drill ${input.drillId}: ${event.type} not published (${outcome.kind}); the audit record notes it.`);

  const auditBlob = `drills/${report.startedAt.slice(0, 10)}/${input.drillId.replace(/:/g, "-")}.json`;
  const record = {
    schema: DRILL_AUDIT_SCHEMA,
    schemaVersion: 1,
    workflow: "drill",
    action: report.kind === "selective" ? "selectiveRestoreDrill" : "restoreDrill",
    trigger: input.trigger,
    drillId: report.drillId,
    verdict: report.verdict,
    primary: report.primary,
    target: report.target,
    startedAt: report.startedAt,
    finishedAt: report.finishedAt,
    backup: report.backup === undefined ? null : { folder: report.backup.folder, jobId: report.backup.jobId, endTime: report.backup.endTime },
    targetBackup: report.targetBackup === undefined ? null : { jobId: report.targetBackup.jobId, folderUrl: report.targetBackup.folderUrl },
    restore: report.restore ?? null,
    rtoMs: report.objectives?.rtoMs ?? null,
    rpoMs: report.objectives?.rpoMs ?? null,
    rtoTargetMs: report.objectives?.rtoTargetMs ?? null,
    rpoTargetMs: report.objectives?.rpoTargetMs ?? null,
    ...(report.principalId === undefined ? {} : { principalId: report.principalId }),
    failures: report.failures,
    report: { container: deps.reports.containerName, json: input.jsonBlob, html: input.jsonBlob.replace(/report\.json$/, "report.html") },
    event: outcome.kind === "failed" ? { type: event.type, id: outcome.id, outcome: outcome.kind, error: outcome.error } : { type: event.type, id: outcome.id, outcome: outcome.kind },
    recordedAt: (deps.now?.() ?? new Date()).toISOString(),
  };
  // Write-once (a retry finding its own earlier record is fine) and redacted: failures may quote service messages.
  const contentType = "application/json; charset=utf-8";
  try {
    await writeAuditRecord(deps.audit, auditBlob, record, contentType);
  } catch (e) {
    if (input.handOff !== true) throw e;
    const retry = await startAuditRecordRetry(deps.starter, { workload: "drill", blobName: auditBlob, record, contentType }, e, deps.now?.() ?? new Date(), (line) => deps.logError?.(line));
    if (retry.kind !== "started" && retry.kind !== "exists") throw e;
    deps.log?.(`drill ${input.drillId}: audit record ${auditBlob} not written (${(e as Error).message}); ${retry.instanceId} retries it.`);
    return { event: outcome.kind, eventType: event.type, auditBlob, auditRetry: retry };
  }
  return { event: outcome.kind, eventType: event.type, auditBlob };
}

async function readReport(reports: ContainerClient, blob: string): Promise<DrillReport> {
  let text: string;
  try {
    text = (await reports.getBlobClient(blob).downloadToBuffer()).toString("utf8");
  } catch (e) {
    throw storageFailure(e, "reading the drill report", `${reports.url}/${blob}`);
  }
  const parsed = JSON.parse(text) as Partial<DrillReport>;
  if (parsed.schema !== DRILL_REPORT_SCHEMA || typeof parsed.drillId !== "string") {
    throw new LifecycleError("BadParameter", `${blob} is not a drill report (schema "${String(parsed.schema)}").`);
  }
  return parsed as DrillReport;
}
