/**
 * Lifecycle rows leave from the same function as the write-once audit records (writeAuditRecord), on Azurite: a row
 * for every record, built from the redacted record (a SAS, a bearer token or a key in a record never reaches a
 * column), sent again by a retry that finds its record already stored (at least once, same RecordId), never for a
 * record refused as a conflict, and a failed send fails the write so the activity's retry sends it.
 */
import type { ContainerClient } from "@azure/storage-blob";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { readLocalRows, useLifecycleRowSink } from "../../shared/lifecycleLog/lifecycleRowSink";
import { writeAuditRecord } from "../../shared/storage/writeAuditRecord";
import { startAzurite, type AzuriteBlob } from "../support/azurite";

let azurite: AzuriteBlob;
let audit: ContainerClient;

beforeAll(async () => {
  azurite = await startAzurite();
  audit = azurite.blobServiceClient().getContainerClient("audit-rows");
}, 60_000);

afterAll(async () => {
  await azurite?.stop();
});

afterEach(() => useLifecycleRowSink(undefined));

describe("HsmLifecycle_CL rows from writeAuditRecord", () => {
  it("one row per record, redacted, re-sent by a retry, none for a conflicting record", async () => {
    const record = {
      schema: "hsm-lifecycle/audit/backup",
      recordedAt: "2026-12-06T01:00:00.000Z",
      outcome: "failed",
      data: { hsmName: "primary", jobId: "job-9", errorCode: "StorageUnreachable", message: "GET https://acct.blob.core.windows.net/c?sv=1&sig=SECRETSIG failed; Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJvaWQiOiIxIn0.c2ln AccountKey=S3CRET==", runId: "backup:primary:2026-12-06", failedAt: "2026-12-06T01:00:00.000Z" },
    };
    expect(await writeAuditRecord(audit, "backup/primary/2026-12-06/a-failed.json", record)).toBe("written");
    expect(await writeAuditRecord(audit, "backup/primary/2026-12-06/a-failed.json", { ...record, recordedAt: "2026-12-06T01:00:05.000Z" })).toBe("unchanged");
    await expect(writeAuditRecord(audit, "backup/primary/2026-12-06/a-failed.json", { ...record, outcome: "completed" })).rejects.toThrow(/\[Conflict\]/);

    const rows = await readLocalRows(audit);
    expect(rows.map((r) => [r.RecordId, r.Operation, r.Outcome, r.Instance, r.JobId])).toEqual([
      ["backup/primary/2026-12-06/a-failed.json", "BackupFailed", "Failed", "primary", "job-9"],
      ["backup/primary/2026-12-06/a-failed.json", "BackupFailed", "Failed", "primary", "job-9"],
    ]);
    const text = JSON.stringify(rows);
    for (const secret of ["SECRETSIG", "eyJhbGciOiJIUzI1NiJ9", "S3CRET"]) expect(text).not.toContain(secret);
    expect(rows[0]!.Reason).toContain("REDACTED");
  });

  it("records of other kinds keep their own operation (an ignored manifest is not a backup or a drill)", async () => {
    const record = { schema: "hsm-lifecycle/audit/ignored-manifests", schemaVersion: 1, recordedAt: "2026-12-06T03:00:00.000Z", workflow: "drill", container: "https://acct/hsm-backups", ignored: 1, manifests: [{ blob: "manifests/x.json", reason: "no recordmac" }] };
    await writeAuditRecord(audit, "drills/ignored-manifests/2026-12-06/c-drill.json", record);
    expect((await readLocalRows(audit)).find((r) => r.RecordId === "drills/ignored-manifests/2026-12-06/c-drill.json")).toMatchObject({ Workflow: "drill", Operation: "ManifestIgnored", Outcome: "Ignored" });
  });

  it("a failed send fails the write (the blob stays; the activity's retry sends the row)", async () => {
    useLifecycleRowSink({ kind: "logsIngestion", send: async () => Promise.reject(new Error("[StorageUnreachable] ingestion endpoint down")) });
    const record = { schema: "hsm-lifecycle/audit/rotation", recordedAt: "2026-12-06T02:00:00.000Z", type: "KeyRotated", data: { instance: "primary", keyName: "k", newVersion: "v2", runId: "rotate:primary:k:v1" } };
    await expect(writeAuditRecord(audit, "rotation/primary/k/b-KeyRotated.json", record)).rejects.toThrow(/ingestion endpoint down/);
    expect(await audit.getBlobClient("rotation/primary/k/b-KeyRotated.json").exists()).toBe(true);
    useLifecycleRowSink(undefined);
    expect(await writeAuditRecord(audit, "rotation/primary/k/b-KeyRotated.json", record)).toBe("unchanged");
    expect((await readLocalRows(audit)).filter((r) => r.RecordId === "rotation/primary/k/b-KeyRotated.json")).toEqual([expect.objectContaining({ Operation: "KeyRotated", Outcome: "Succeeded", KeyName: "k", KeyVersion: "v2" })]);
  });
});
