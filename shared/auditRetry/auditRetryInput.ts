import { LifecycleError } from "../errors/lifecycleError";

/**
 * The workflows whose activities hand a lost audit write to `auditRecordRetry`: exactly the identities that write
 * audit records (each holds the audit appender role on its own path, see shared/rbac/lifecycleRoles.json). The
 * retry writes as that workflow's identity, into `AUDIT_CONTAINER`, so it needs no role the original writer did
 * not hold.
 */
export const AUDIT_RETRY_WORKLOADS = ["rotation", "backup", "retention", "drill", "recovery"] as const;
export type AuditRetryWorkload = (typeof AUDIT_RETRY_WORKLOADS)[number];

export const AUDIT_CONTENT_TYPES = ["application/json", "application/json; charset=utf-8"] as const;

/** `auditRecordRetry`'s input: the record exactly as first written (already redacted) and where it goes. */
export interface AuditRecordRetryInput {
  /** Whose identity wrote the record first; the retry writes as it, into `AUDIT_CONTAINER`. */
  workload: AuditRetryWorkload;
  blobName: string;
  record: Record<string, unknown>;
  contentType?: (typeof AUDIT_CONTENT_TYPES)[number];
  /** When the first write failed (ISO): the retry schedule counts from it. */
  failedAt: string;
  /** Why it failed (redacted), for the logs. */
  error: string;
}

/** How `auditRecordRetry` ended. `gaveUp`: the schedule ran out (72 h) and the record is still not written. */
export type AuditRecordRetryOutput =
  | { kind: "written" | "unchanged" | "taken"; blobName: string; attempts: number }
  | { kind: "conflict" | "gaveUp" | "invalid"; blobName: string; attempts: number; error: string };

/** Throws a `BadParameter` naming what is wrong unless `input` is a well-formed retry input (it is replayed from history). */
export function checkAuditRetryInput(input: unknown): AuditRecordRetryInput {
  const i = input as Partial<AuditRecordRetryInput> | null | undefined;
  const fail = (what: string): never => {
    throw new LifecycleError("BadParameter", `auditRecordRetry input: ${what}. It is built by the outcome activities ({workload, blobName, record, failedAt, error}); start it only through them.`);
  };
  if (typeof i !== "object" || i === null) return fail("not an object");
  if (!AUDIT_RETRY_WORKLOADS.includes(i.workload as AuditRetryWorkload)) fail(`workload must be one of ${AUDIT_RETRY_WORKLOADS.join(", ")} (got ${JSON.stringify(i.workload)})`);
  if (typeof i.blobName !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._/-]{0,1000}\.json$/.test(i.blobName) || i.blobName.split("/").some((s) => s === "" || s === "." || s === "..")) {
    fail(`blobName must be a relative audit blob path ending .json, without empty, '.' or '..' segments (got ${JSON.stringify(String(i.blobName).slice(0, 200))})`);
  }
  if (typeof i.record !== "object" || i.record === null || Array.isArray(i.record)) fail("record must be a JSON object");
  if (i.contentType !== undefined && !AUDIT_CONTENT_TYPES.includes(i.contentType)) fail(`contentType must be one of ${AUDIT_CONTENT_TYPES.join(" | ")}`);
  if (typeof i.failedAt !== "string" || Number.isNaN(Date.parse(i.failedAt))) fail("failedAt must be an ISO 8601 instant");
  if (typeof i.error !== "string") fail("error must be a string");
  return i as AuditRecordRetryInput;
}
