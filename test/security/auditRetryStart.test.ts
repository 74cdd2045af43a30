/**
 * The outcome activities hand an audit record they could not write to `auditRecordRetry`: the rotation outcome
 * with storage unreachable starts one retry per record (idempotent instance id, redacted record), a failed start is
 * an error log naming the blob and the fix, and a conflicting record (write-once) is never retried. The other
 * writers do the same as their own identity: a dual-control step (rotation), and the drill outcome on its last call
 * after durable retries (drill; before that it throws, so durable retries it). Real Blob SDK
 * against Azurite and against a closed port; the durable client is the narrow starter interface the activities use.
 */
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { LifecycleEventType } from "../../shared/events/lifecycleEventTypes";
import type { LifecyclePublisher, PublishOutcome } from "../../shared/events/lifecyclePublisher";
import { recordRotationOutcome } from "../../shared/rotation/activities/recordOutcome";
import { recordBackupOutcome } from "../../shared/backup/activities/audit";
import { recordRequestStep } from "../../shared/approvals/activities/recordRequestStep";
import { recordDrillOutcome } from "../../shared/drill/activities/recordOutcome";
import { handleKeyEvents } from "../../shared/rotation/activities/remediation";
import { createKeyClients } from "../../shared/hsm/keyClients";
import { DRILL_REPORT_SCHEMA } from "../../shared/drill/drillReport";
import type { OperationRequestData } from "../../shared/events/lifecycleEventData";
import { tryWriteAuditRecord } from "../../shared/storage/tryWriteAuditRecord";
import type { RotationStarterClient } from "../../shared/rotation/activities/durableStatus";
import { auditRetryInstanceId } from "../../shared/auditRetry/startAuditRecordRetry";
import type { AuditRecordRetryInput } from "../../shared/auditRetry/auditRetryInput";
import { orchestrationNames } from "../../shared/names";
import { startAzurite, type AzuriteBlob } from "../support/azurite";
import { lifecycleSamples } from "../support/lifecycleEventSamples";

const publisher: LifecyclePublisher = {
  publish: async (request): Promise<PublishOutcome> => ({ kind: "published", id: request.id ?? "x", type: request.type, attempts: 1 }),
};
const SIG = "Zm9yZ2VkU2lnbmF0dXJlMTIz%2B%2F%3D";

/** Records what was started; durable answers 404 for an instance it does not know, as durable-functions 3 does. */
function recordingStarter(failStart?: string): RotationStarterClient & { started: Array<{ name: string; instanceId: string; input: unknown }> } {
  const started: Array<{ name: string; instanceId: string; input: unknown }> = [];
  return {
    started,
    getStatus: async (instanceId) => {
      if (!started.some((s) => s.instanceId === instanceId)) throw new Error("The operation failed with an unexpected status code: HTTP 404");
      return { runtimeStatus: "Running" };
    },
    startNew: async (name, options) => {
      if (failStart !== undefined) throw new Error(failStart);
      started.push({ name, instanceId: options.instanceId, input: options.input });
      return options.instanceId;
    },
  };
}

let azurite: AzuriteBlob;
let audit: ContainerClient;
let unreachable: ContainerClient;

beforeAll(async () => {
  azurite = await startAzurite();
  audit = azurite.blobServiceClient().getContainerClient("audit");
  await audit.createIfNotExists();
  // A port nothing listens on: every call is refused at once (StorageUnreachable), with one try.
  const port = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const p = (server.address() as { port: number }).port;
      server.close(() => resolve(p));
    });
  });
  unreachable = new BlobServiceClient(`http://127.0.0.1:${port}/devstoreaccount1`, azurite.credential, { retryOptions: { maxTries: 1, tryTimeoutInMs: 5_000 } }).getContainerClient("audit");
}, 60_000);

afterAll(async () => {
  await azurite?.stop();
});

describe("the record of rejected Event Grid events is handed to auditRecordRetry too", () => {
  it("a forged event with storage unreachable: the delivery still succeeds, nothing starts for the event, and the rejection's record goes to one retry as rotation under rotation/", async () => {
    const starter = recordingStarter();
    const logs: string[] = [];
    const forged = [{ id: "forged-1", topic: "/subscriptions/x/resourceGroups/y/providers/Microsoft.KeyVault/vaults/other", subject: "k1", eventType: "Microsoft.KeyVault.KeyExpired", eventTime: "2030-03-01T10:00:00Z", dataVersion: "1", data: {} }];
    const outcomes = await handleKeyEvents(forged, {
      settings: { hsms: [], vaults: [{ name: "app", kind: "vault", url: "https://app.vault.azure.net", role: "primary" }], eventSources: ["/subscriptions/x/resourceGroups/y/providers/Microsoft.KeyVault/vaults/app"] } as never,
      loadPolicy: () => Promise.reject(new Error("no policy is read for a rejected event")),
      client: starter,
      log: (l) => logs.push(l),
      keyClients: createKeyClients({ getToken: () => Promise.reject(new Error("no key is read for a rejected event")) }),
      auditContainer: unreachable,
      now: () => new Date("2030-03-01T10:00:00.000Z"),
    });
    expect(outcomes.map((o) => o.kind)).toEqual(["rejected"]);
    expect(starter.started).toHaveLength(1);
    const retryInput = starter.started[0]!.input as AuditRecordRetryInput;
    expect(starter.started[0]).toMatchObject({ name: orchestrationNames.auditRecordRetry });
    expect(retryInput).toMatchObject({ workload: "rotation", blobName: expect.stringMatching(/^rotation\/events\/rejected\/2030-03-01\/.+\.json$/), record: { schema: "hsm-lifecycle/audit/rejected-events", workflow: "events", rejected: 1 } });
    expect(logs.join("\n")).toMatch(/rejected events not audited yet: .*\[StorageUnreachable\].*; retry started/);
  });
});

describe("a failed outcome audit write is handed to auditRecordRetry", () => {
  const now = (): Date => new Date("2030-03-01T10:00:00.000Z");
  const data = lifecycleSamples[LifecycleEventType.KeyRotated];

  it("rotation, storage unreachable: one retry, as the rotation identity, with the record redacted; a second failure starts no other", async () => {
    const starter = recordingStarter();
    const errors: string[] = [];
    const input = { type: "KeyRotated" as const, id: "rotated:retry", time: now().toISOString(), data, details: { note: `https://a.blob.core.windows.net/c/b?sv=2022-11-02&sig=${SIG}` } };
    const out = await recordRotationOutcome(input, { publisher, auditContainer: unreachable, starter, now, logError: (l) => errors.push(l) });
    expect(out.audit).toMatchObject({ written: false, error: expect.stringContaining("[StorageUnreachable]") });
    expect(starter.started).toHaveLength(1);
    const [start] = starter.started;
    const retryInput = start!.input as AuditRecordRetryInput;
    expect(start).toMatchObject({ name: orchestrationNames.auditRecordRetry, instanceId: auditRetryInstanceId(retryInput.blobName) });
    expect(out.audit).toMatchObject({ retry: { kind: "started", instanceId: start!.instanceId } });
    expect(retryInput).toMatchObject({ workload: "rotation", blobName: expect.stringMatching(/^rotation\/.+-KeyRotated\.json$/), failedAt: now().toISOString(), record: { schema: "hsm-lifecycle/audit/rotation", eventId: "rotated:retry", recordedAt: now().toISOString() } });
    expect(JSON.stringify(retryInput)).not.toContain(SIG);
    expect(errors).toEqual([]);
    // The activity retried by durable fails the same way: the retry already under way is left alone.
    const again = await recordRotationOutcome(input, { publisher, auditContainer: unreachable, starter, now, logError: (l) => errors.push(l) });
    expect(again.audit).toMatchObject({ written: false, retry: { kind: "exists", instanceId: start!.instanceId } });
    expect(starter.started).toHaveLength(1);
  });

  it("backup, storage unreachable and the retry cannot start: an error log names the blob and the fix", async () => {
    const starter = recordingStarter("The operation failed with an unexpected status code: 500");
    const errors: string[] = [];
    const out = await recordBackupOutcome(
      { outcome: "failed", night: "2030-03-01", data: lifecycleSamples[LifecycleEventType.BackupFailed], details: {} },
      { publisher, auditContainer: unreachable, starter, now, logError: (l) => errors.push(l) },
    );
    expect(out.audit).toMatchObject({ written: false, retry: { kind: "failed", error: expect.stringContaining("500") } });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^The audit record backup\/.+-failed\.json was not written \(\[StorageUnreachable\].*\) and its retry audit-retry:backup:.+ could not be started: .*500.*re-run the workflow/);
  });

  it("a different record already at that name (write-once conflict) is reported and never retried", async () => {
    const starter = recordingStarter();
    const first = await recordRotationOutcome({ type: "KeyRotated", id: "rotated:c", time: now().toISOString(), data }, { publisher, auditContainer: audit, starter, now });
    expect(first.audit.written).toBe(true);
    const second = await recordRotationOutcome({ type: "KeyRotated", id: "rotated:c2", time: now().toISOString(), data }, { publisher, auditContainer: audit, starter, now });
    expect(second.audit).toEqual({ written: false, error: expect.stringMatching(/\[Conflict\].*write-once/) });
    expect(starter.started).toEqual([]);
  });
});

describe("the other audit writers hand a failed write to auditRecordRetry as their own identity", () => {
  const now = (): Date => new Date("2030-03-02T10:00:00.000Z");

  it("a dual-control step: the request goes on, its record is retried as the rotation identity", async () => {
    const starter = recordingStarter();
    const data = { request: "req-20300302-retry", action: "requested", operation: "emergencyRotation", at: now().toISOString() } as unknown as OperationRequestData;
    const out = await recordRequestStep({ data, seq: 0 }, { publisher, auditContainer: unreachable, now, starter });
    expect(out.event).toBe("published");
    expect(out.audit).toMatchObject({ written: false, error: expect.stringContaining("[StorageUnreachable]"), retry: { kind: "started", instanceId: "audit-retry:rotation:requests:req-20300302-retry:000-requested.json" } });
    expect(starter.started).toEqual([
      {
        name: orchestrationNames.auditRecordRetry,
        instanceId: "audit-retry:rotation:requests:req-20300302-retry:000-requested.json",
        input: expect.objectContaining({ workload: "rotation", blobName: "rotation/requests/req-20300302-retry/000-requested.json", record: expect.objectContaining({ schema: "hsm-lifecycle/audit/request", eventId: "request:req-20300302-retry:0", data }) }),
      },
    ]);
    // Written when storage is there, with no retry; a writer that passes no hand-off keeps today's answer.
    expect((await recordRequestStep({ data, seq: 1 }, { publisher, auditContainer: audit, now, starter })).audit).toEqual({ written: true, blob: "rotation/requests/req-20300302-retry/001-requested.json" });
    expect(await tryWriteAuditRecord(unreachable, "rotation/x.json", { a: 1 })).toEqual({ written: false, error: expect.stringContaining("[StorageUnreachable]") });
    expect(starter.started).toHaveLength(1);
  });

  it("the drill outcome: throws for durable to retry, then on the hand-off call starts the retry as the drill identity", async () => {
    const reports = azurite.blobServiceClient().getContainerClient("drill-reports");
    await reports.createIfNotExists();
    const drillId = "drill:primary:dr:retry";
    const report = {
      schema: DRILL_REPORT_SCHEMA,
      drillId,
      kind: "full",
      verdict: "failed",
      primary: { name: "primary", url: "https://primary.managedhsm.azure.net" },
      target: { name: "dr", url: "https://dr.managedhsm.azure.net" },
      startedAt: "2030-03-02T09:00:00.000Z",
      finishedAt: "2030-03-02T09:01:00.000Z",
      failures: ["[NoVerifiedBackup] none"],
      checks: [],
    };
    const text = JSON.stringify(report);
    await reports.getBlockBlobClient("drill-primary-dr-retry/report.json").upload(text, Buffer.byteLength(text));
    const starter = recordingStarter();
    const input = { drillId, jsonBlob: "drill-primary-dr-retry/report.json", trigger: "http" as const };
    const deps = { reports, audit: unreachable, publisher, now, starter, logError: (l: string) => errors.push(l) };
    const errors: string[] = [];
    await expect(recordDrillOutcome(input, deps)).rejects.toThrow(/\[StorageUnreachable\]/);
    expect(starter.started).toEqual([]);

    const out = await recordDrillOutcome({ ...input, handOff: true }, deps);
    const blobName = "drills/2030-03-02/drill-primary-dr-retry.json";
    expect(out).toEqual({ event: "published", eventType: "HsmLifecycle.DrillFailed", auditBlob: blobName, auditRetry: { kind: "started", instanceId: auditRetryInstanceId(blobName) } });
    expect(starter.started).toHaveLength(1);
    expect(starter.started[0]!.input).toMatchObject({
      workload: "drill",
      blobName,
      contentType: "application/json; charset=utf-8",
      record: { workflow: "drill", drillId, verdict: "failed", failures: ["[NoVerifiedBackup] none"], event: { type: "HsmLifecycle.DrillFailed", outcome: "published" } },
    });
    // The retry cannot start either: the activity throws as before (the drill keeps the failure in its output).
    const noStart = recordingStarter("The operation failed with an unexpected status code: 500");
    await expect(recordDrillOutcome({ ...input, handOff: true }, { ...deps, starter: noStart })).rejects.toThrow(/\[StorageUnreachable\]/);
    expect(errors).toEqual([expect.stringMatching(/^The audit record drills\/2030-03-02\/drill-primary-dr-retry\.json was not written .* could not be started/)]);
  });
});
