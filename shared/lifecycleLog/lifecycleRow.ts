/**
 * One row of the Log Analytics custom table `HsmLifecycle_CL`: what a lifecycle audit record says, in columns a
 * SOC queries (the Sentinel rules in sentinel/rules/ read them). Built from the REDACTED audit record, and only
 * from named scalar fields: no key material, token or SAS can reach a column, whatever a record holds.
 */
export const LIFECYCLE_TABLE = "HsmLifecycle_CL";
/** The data collection rule's stream (infra/modules/lifecycleLog.bicep declares it with these columns). */
export const LIFECYCLE_STREAM = "Custom-HsmLifecycle_CL";

export interface LifecycleRow {
  /** When the recorded thing happened (the record's own time), ISO 8601. */
  TimeGenerated: string;
  /** The audit blob's name: stable per record, so a row sent twice (a retried activity) can be told apart. */
  RecordId: string;
  Workflow: string;
  /** KeyRotated, KeyRotationFailed, BackupCompleted, BackupFailed, RestoreDrill, SelectiveRestoreDrill, … */
  Operation: string;
  /** Succeeded | Failed | Rejected | Ignored | Recorded. */
  Outcome: string;
  /** The HSM or vault the record is about (a drill's primary). */
  Instance: string;
  /** A drill's DR HSM. */
  TargetInstance: string;
  KeyName: string;
  KeyVersion: string;
  /** The new version's expiry: the end of its cryptoperiod. */
  KeyExpiresOn: string;
  FolderName: string;
  RunId: string;
  /** The HSM job id (backup/restore), which the HSM's own AuditEvent rows carry too. */
  JobId: string;
  /** The HSM request correlation id, where the record has one. */
  CorrelationId: string;
  /** Object id of the identity that did it (or asked for it). */
  IdentityObjectId: string;
  Verified: boolean;
  RtoMs: number | null;
  RpoMs: number | null;
  RtoTargetMs: number | null;
  RpoTargetMs: number | null;
  /** Why it failed (a redacted, shortened service message or cause). */
  Reason: string;
}

type Rec = Record<string, unknown>;

const str = (v: unknown): string => (typeof v === "string" ? v : typeof v === "number" ? String(v) : "");
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const obj = (v: unknown): Rec => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Rec) : {});
const first = (...values: unknown[]): string => values.map(str).find((s) => s !== "") ?? "";

/** The table row of one (redacted) audit record, whatever its workflow; unknown records still get a row. */
export function lifecycleRowOf(recordId: string, record: Rec): LifecycleRow {
  const data = obj(record["data"]);
  const details = obj(record["details"]);
  const workflow = first(record["workflow"], recordId.split("/")[0]);
  const row: LifecycleRow = {
    TimeGenerated: first(record["recordedAt"], record["finishedAt"], new Date().toISOString()),
    RecordId: recordId,
    Workflow: workflow,
    Operation: first(record["operation"], record["type"], record["action"], str(record["schema"]).endsWith("/ignored-manifests") ? "ManifestIgnored" : "", workflow),
    Outcome: "Recorded",
    Instance: first(record["instance"], data["instance"], data["hsmName"], obj(record["primary"])["name"], record["hsm"]),
    TargetInstance: first(obj(record["target"])["name"]),
    KeyName: first(record["keyName"], data["keyName"], data["ObjectName"]),
    KeyVersion: first(data["newVersion"], data["currentVersion"], data["Version"]),
    KeyExpiresOn: first(data["expiresOn"]),
    FolderName: first(record["folder"], obj(record["backup"])["folder"], folderOf(str(data["folderUrl"]))),
    RunId: first(record["runId"], data["runId"], record["drillId"], record["requestId"]),
    JobId: first(data["jobId"], obj(record["restore"])["jobId"], obj(record["backup"])["jobId"]),
    CorrelationId: first(record["correlationId"], data["correlationId"], details["correlationId"]),
    IdentityObjectId: first(record["principalId"], record["identityObjectId"], data["principalId"], obj(record["identity"])["objectId"], record["requester"]),
    Verified: data["verified"] === true,
    RtoMs: num(record["rtoMs"]),
    RpoMs: num(record["rpoMs"]),
    RtoTargetMs: num(record["rtoTargetMs"]),
    RpoTargetMs: num(record["rpoTargetMs"]),
    Reason: first(data["message"], data["errorCode"], Array.isArray(record["failures"]) ? (record["failures"] as unknown[]).map(str).join(" ") : "", record["reason"]).slice(0, 1000),
  };
  row.Outcome = outcomeOf(record, workflow, row.Operation);
  if (record["schema"] === "hsm-lifecycle/audit/backup") row.Operation = row.Outcome === "Failed" ? "BackupFailed" : "BackupCompleted";
  if (record["action"] === "restoreDrill") row.Operation = "RestoreDrill";
  if (record["action"] === "selectiveRestoreDrill") row.Operation = "SelectiveRestoreDrill";
  return row;
}

function outcomeOf(record: Rec, workflow: string, operation: string): string {
  const said = first(record["outcome"], record["verdict"], record["result"]).toLowerCase();
  if (said === "failed" || /failed$/i.test(operation)) return "Failed";
  if (said === "completed" || said === "passed" || said === "succeeded" || said === "approved") return "Succeeded";
  if (said === "rejected" || said === "denied" || workflow === "events") return "Rejected";
  if (said === "ignored" || operation === "ManifestIgnored") return "Ignored";
  if (/(rotated|completed|versionrecorded)$/i.test(operation)) return "Succeeded";
  return said === "" ? "Recorded" : said.charAt(0).toUpperCase() + said.slice(1);
}

function folderOf(url: string): string {
  return /\/(mhsm-[^/?]+)/.exec(url)?.[1] ?? "";
}
