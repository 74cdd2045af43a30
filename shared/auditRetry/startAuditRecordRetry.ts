import { createHash } from "node:crypto";
import { orchestrationNames } from "../names";
import { LifecycleError } from "../errors/lifecycleError";
import { redactSecrets } from "../errors/redactSecrets";
import { isAlreadyStarted, readInstanceStatus, type RotationStarterClient } from "../rotation/activities/durableStatus";
import { type AuditRecordRetryInput, type AuditRetryWorkload } from "./auditRetryInput";

/** What became of a failed audit write: handed to `auditRecordRetry` (`started`/`exists`), or not (`failed`, `conflict`). */
export type AuditRetryStart = { kind: "started" | "exists"; instanceId: string } | { kind: "failed"; instanceId: string; error: string } | { kind: "conflict" };

export interface LostAuditRecord {
  workload: AuditRetryWorkload;
  blobName: string;
  record: Record<string, unknown>;
  contentType?: AuditRecordRetryInput["contentType"];
}

/**
 * Called by an outcome activity whose `writeAuditRecord` threw: unless it was a `Conflict` (a different record
 * holds the name; retrying cannot change that), starts `auditRecordRetry` for the record (idempotent: one
 * instance per blob name; a running or finished-with-the-record instance is left alone, one that gave up is
 * started again). The record goes into durable history redacted, as it would have gone to the blob. Never
 * throws: a failed start is logged with `logError` naming the blob and the fix, and returned.
 */
export async function startAuditRecordRetry(
  client: RotationStarterClient | undefined,
  lost: LostAuditRecord,
  failure: unknown,
  failedAt: Date,
  logError: (line: string) => void,
): Promise<AuditRetryStart> {
  if (failure instanceof LifecycleError && failure.code === "Conflict") return { kind: "conflict" };
  const instanceId = auditRetryInstanceId(lost.blobName);
  const input: AuditRecordRetryInput = {
    workload: lost.workload,
    blobName: lost.blobName,
    record: JSON.parse(redactSecrets(JSON.stringify(lost.record))) as Record<string, unknown>,
    ...(lost.contentType === undefined ? {} : { contentType: lost.contentType }),
    failedAt: failedAt.toISOString(),
    error: redactSecrets((failure as Error)?.message ?? String(failure)),
  };
  try {
    if (client === undefined) throw new Error("no durable client was given to the outcome activity");
    const existing = await readInstanceStatus(client, instanceId);
    if (existing !== undefined && !restartable(existing)) return { kind: "exists", instanceId };
    try {
      await client.startNew(orchestrationNames.auditRecordRetry, { instanceId, input });
      return { kind: "started", instanceId };
    } catch (e) {
      if (isAlreadyStarted(e)) return { kind: "exists", instanceId };
      throw e;
    }
  } catch (e) {
    const error = redactSecrets((e as Error)?.message ?? String(e));
    logError(
      `The audit record ${lost.blobName} was not written (${input.error}) and its retry ${instanceId} could not be started: ${error}. ` +
        `Until it is written the record is missing from the audit trail: make the durable task hub's storage (AzureWebJobsStorage) and the audit container reachable, then re-run the workflow so its outcome is recorded again.`,
    );
    return { kind: "failed", instanceId, error };
  }
}

/** A retry that gave up (or failed, or was terminated) is started again by a new failure; one under way or done is not. */
function restartable(existing: { runtimeStatus?: string; output?: unknown }): boolean {
  const status = existing.runtimeStatus ?? "";
  if (status === "Failed" || status === "Terminated" || status === "Canceled") return true;
  if (status !== "Completed") return false;
  const kind = (existing.output as { kind?: unknown } | null | undefined)?.kind;
  return kind === "gaveUp" || kind === "invalid";
}

/** Durable instance ids may not hold '/', so the blob name's folders become ':' (our audit blob names hold no ':'). */
export function auditRetryInstanceId(blobName: string): string {
  const id = `audit-retry:${blobName.replace(/\//g, ":")}`;
  // Instance ids are capped (256 characters); a very long key name falls back to a digest of the blob name.
  return id.length <= 200 ? id : `audit-retry:sha256-${createHash("sha256").update(blobName).digest("hex")}`;
}
