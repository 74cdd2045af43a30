import type { ContainerClient } from "@azure/storage-blob";
import { LifecycleError } from "../../errors/lifecycleError";
import { redactSecrets } from "../../errors/redactSecrets";
import { writeAuditRecord } from "../../storage/writeAuditRecord";
import { checkAuditRetryInput, type AuditRetryWorkload } from "../auditRetryInput";

export type RetryAuditRecordWriteOutput = { kind: "written" } | { kind: "unchanged" } | { kind: "taken" } | { kind: "conflict"; error: string } | { kind: "failed"; error: string };

/**
 * Activity `retryAuditRecordWrite`: one more attempt at a lost audit record, through `writeAuditRecord` itself,
 * as the identity that first tried (`containerFor(workload)`). The record finds an identical one already there
 * (an earlier attempt that did reach storage) as done; a different record at that name is a `conflict`, which
 * no retry can change. Any other failure (storage still away) is a value, so the orchestration waits for its
 * next slot instead of durable retrying it at once.
 */
export async function retryAuditRecordWrite(input: unknown, containerFor: (workload: AuditRetryWorkload) => ContainerClient): Promise<RetryAuditRecordWriteOutput> {
  const i = checkAuditRetryInput(input);
  try {
    return { kind: await writeAuditRecord(containerFor(i.workload), i.blobName, i.record, i.contentType) };
  } catch (e) {
    const error = redactSecrets((e as Error).message ?? String(e));
    return { kind: e instanceof LifecycleError && e.code === "Conflict" ? "conflict" : "failed", error };
  }
}
