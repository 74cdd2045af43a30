import { randomUUID } from "node:crypto";
import type { ContainerClient } from "@azure/storage-blob";
import { writeAuditRecord } from "../storage/writeAuditRecord";
import type { IgnoredManifest } from "./listBackupRecords";

const MAX_LISTED = 100;

/**
 * Reports manifests a workflow refused to trust: one log line each (blob and reason) and one write-once audit
 * record (`{AUDIT_CONTAINER}/{drills|retention}/ignored-manifests/{day}/{time}-{workflow}-{uuid}.json`: under the
 * writer's own prefix, the only path its append-only grant allows), since a forged manifest in the backup container
 * means someone can write there who should not. Never throws: the workflow
 * goes on with the backups it does trust. Returns the audit blob, or undefined when none was written.
 */
export async function reportIgnoredManifests(
  ignored: readonly IgnoredManifest[],
  where: { workflow: "retention" | "drill"; container: string; now: Date },
  sinks: { auditContainer?: ContainerClient; log?: (line: string) => void },
): Promise<string | undefined> {
  if (ignored.length === 0) return undefined;
  for (const i of ignored) sinks.log?.(`${where.workflow}: manifest ${where.container}/${i.blob} ignored: ${i.reason}`);
  if (sinks.auditContainer === undefined) return undefined;
  const recordedAt = where.now.toISOString();
  const prefix = where.workflow === "drill" ? "drills" : "retention";
  const blob = `${prefix}/ignored-manifests/${recordedAt.slice(0, 10)}/${recordedAt.replace(/[:.]/g, "")}-${where.workflow}-${randomUUID()}.json`;
  const record = {
    schema: "hsm-lifecycle/audit/ignored-manifests",
    schemaVersion: 1,
    recordedAt,
    workflow: where.workflow,
    container: where.container,
    ignored: ignored.length,
    manifests: ignored.slice(0, MAX_LISTED).map((i) => ({ blob: i.blob.slice(0, 1024), reason: i.reason })),
  };
  try {
    await writeAuditRecord(sinks.auditContainer, blob, record);
    return blob;
  } catch (e) {
    sinks.log?.(`${where.workflow}: ignored manifests not audited: ${(e as Error).message}`);
    return undefined;
  }
}
