import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContainerClient, ContainerSASPermissions } from "@azure/storage-blob";
import { recordBackupOutcome } from "../../shared/backup/activities/audit";
import { LifecycleEventType } from "../../shared/events/lifecycleEventTypes";
import type { LifecyclePublisher, PublishOutcome } from "../../shared/events/lifecyclePublisher";
import { recordRotationOutcome } from "../../shared/rotation/activities/recordOutcome";
import { tryWriteAuditRecord } from "../../shared/storage/tryWriteAuditRecord";
import { writeAuditRecord } from "../../shared/storage/writeAuditRecord";
import { startAzurite, type AzuriteBlob } from "../support/azurite";
import { lifecycleSamples } from "../support/lifecycleEventSamples";

/** The topic is not what is under test: every publish "succeeds" without I/O. */
const publisher: LifecyclePublisher = {
  publish: async (request): Promise<PublishOutcome> => ({ kind: "published", id: request.id ?? "x", type: request.type, attempts: 1 }),
};

let azurite: AzuriteBlob;
let audit: ContainerClient;

beforeAll(async () => {
  azurite = await startAzurite();
  audit = azurite.blobServiceClient().getContainerClient("audit");
  await audit.createIfNotExists();
}, 60_000);

afterAll(async () => {
  await azurite?.stop();
});

async function read(name: string): Promise<string> {
  return (await audit.getBlobClient(name).downloadToBuffer()).toString("utf8");
}

describe("audit records are write-once (Azurite, real Blob SDK)", () => {
  it("a second write of a different record to the same name fails with a clear error and the original is unchanged", async () => {
    const name = "rotation/primary/pay-1/20300101T000000000Z-KeyRotated.json";
    expect(await writeAuditRecord(audit, name, { recordedAt: "2030-01-01T00:00:00.000Z", outcome: "rotated" })).toBe("written");
    const original = await read(name);
    // The attack: rewrite history (a failed rotation passed off as a success, or the reverse).
    const overwrite = writeAuditRecord(audit, name, { recordedAt: "2030-01-01T00:00:00.000Z", outcome: "forged" });
    await expect(overwrite).rejects.toThrow(/\[Conflict\].*already exists with different content; audit records are write-once, so the original is kept/);
    const reason = await overwrite.catch((e: Error) => e.message);
    console.log(`refused as expected: ${reason}`);
    expect(await read(name)).toBe(original);
  });

  it("tryWriteAuditRecord answers written, a refused overwrite or no container as a value and keeps the original", async () => {
    const name = "rotation/requests/req-20301231t000000z-abcdef/disabled-0123.json";
    expect(await tryWriteAuditRecord(audit, name, { recordedAt: "2030-01-01T00:00:00.000Z", enabled: false })).toEqual({ written: true, blob: name });
    const original = await read(name);
    const forged = await tryWriteAuditRecord(audit, name, { recordedAt: "2030-01-01T00:00:00.000Z", enabled: true });
    expect(forged).toMatchObject({ written: false, error: expect.stringMatching(/\[Conflict\].*write-once/) as unknown });
    expect(await read(name)).toBe(original);
    expect(await tryWriteAuditRecord(undefined, name, {})).toEqual({ written: false, error: "no audit container configured" });
  });

  it("a retry writing the same record (only recordedAt differs) is accepted and keeps the first", async () => {
    const name = "drills/2030-01-01/drill-1.json";
    expect(await writeAuditRecord(audit, name, { recordedAt: "2030-01-01T00:00:00.000Z", verdict: "passed" })).toBe("written");
    const original = await read(name);
    expect(await writeAuditRecord(audit, name, { recordedAt: "2030-01-01T00:05:00.000Z", verdict: "passed" })).toBe("unchanged");
    expect(await read(name)).toBe(original);
  });

  it("recordRotationOutcome: a second record at the same name is refused (reported, not thrown) and the original stays", async () => {
    const now = (): Date => new Date("2030-02-01T10:00:00.000Z");
    const data = lifecycleSamples[LifecycleEventType.KeyRotated];
    const first = await recordRotationOutcome({ type: "KeyRotated", id: "rotated:1", time: now().toISOString(), data }, { publisher, auditContainer: audit, now });
    expect(first.audit.written).toBe(true);
    if (!first.audit.written) return;
    const original = await read(first.audit.blob);
    const second = await recordRotationOutcome({ type: "KeyRotated", id: "rotated:forged", time: now().toISOString(), data, details: { forged: true } }, { publisher, auditContainer: audit, now });
    expect(second.audit).toEqual({ written: false, error: expect.stringMatching(/write-once, so the original is kept/) });
    if (!second.audit.written) console.log(`refused as expected: ${second.audit.error}`);
    expect(await read(first.audit.blob)).toBe(original);
  });

  it("recordBackupOutcome: a second record at the same name is refused and the original stays", async () => {
    const now = (): Date => new Date("2030-02-02T02:00:00.000Z");
    const data = lifecycleSamples[LifecycleEventType.BackupCompleted];
    const first = await recordBackupOutcome({ outcome: "completed", night: "2030-02-02", data, details: { n: 1 } }, { publisher, auditContainer: audit, now });
    expect(first.audit.written).toBe(true);
    if (!first.audit.written) return;
    const original = await read(first.audit.blob);
    const second = await recordBackupOutcome({ outcome: "completed", night: "2030-02-02", data, details: { n: 2 } }, { publisher, auditContainer: audit, now });
    expect(second.audit).toEqual({ written: false, error: expect.stringMatching(/\[Conflict\].*write-once/) });
    expect(await read(first.audit.blob)).toBe(original);
  });
  it("writes with a container-scoped grant that cannot create containers, and creates the container only when it is missing", async () => {
    // A container SAS can write blobs but not create containers: the shape of a container-scoped role in Azure.
    const sasUrl = await audit.generateSasUrl({ permissions: ContainerSASPermissions.parse("racwl"), expiresOn: new Date(Date.now() + 3_600_000) });
    const scoped = new ContainerClient(sasUrl);
    await expect(scoped.create()).rejects.toMatchObject({ statusCode: 403 });
    const name = "backup/primary/scoped-grant.json";
    expect(await writeAuditRecord(scoped, name, { recordedAt: "2030-01-01T00:00:00.000Z", outcome: "completed" })).toBe("written");
    expect(JSON.parse(await read(name))).toMatchObject({ outcome: "completed" });
    const fresh = azurite.blobServiceClient().getContainerClient("audit-fresh");
    expect(await fresh.exists()).toBe(false);
    expect(await writeAuditRecord(fresh, "rotation/x.json", { recordedAt: "2030-01-01T00:00:00.000Z", outcome: "rotated" })).toBe("written");
    expect(await fresh.getBlobClient("rotation/x.json").exists()).toBe(true);
  });

  it("an append-only writer (no read, as the audit roles grant) that finds the name taken counts it done as `taken`, never overwrites", async () => {
    // Write and add only, as HSM Lifecycle Audit Appender grants: the existing record cannot be read to compare.
    const sasUrl = await audit.generateSasUrl({ permissions: ContainerSASPermissions.parse("acw"), expiresOn: new Date(Date.now() + 3_600_000) });
    const appender = new ContainerClient(sasUrl);
    const name = "backup/primary/2030-01-01/20300101T020000000Z-failed.json";
    expect(await writeAuditRecord(appender, name, { recordedAt: "2030-01-01T02:00:00.000Z", outcome: "failed" })).toBe("written");
    const original = await read(name);
    // A retry whose first answer was lost, or anything else at that name: the appender cannot tell, and keeps it.
    expect(await writeAuditRecord(appender, name, { recordedAt: "2030-01-01T02:05:00.000Z", outcome: "failed" })).toBe("taken");
    expect(await writeAuditRecord(appender, name, { recordedAt: "2030-01-01T02:05:00.000Z", outcome: "forged" })).toBe("taken");
    expect(await read(name)).toBe(original);
  });
});
