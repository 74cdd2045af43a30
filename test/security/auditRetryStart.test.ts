/**
 * The outcome activities hand an audit record they could not write to `auditRecordRetry`: the rotation outcome
 * with storage unreachable starts one retry per record (idempotent instance id, redacted record), a failed start is
 * an error log naming the blob and the fix, and a conflicting record (write-once) is never retried. Real Blob SDK
 * against Azurite and against a closed port; the durable client is the narrow starter interface the activities use.
 */
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { LifecycleEventType } from "../../shared/events/lifecycleEventTypes";
import type { LifecyclePublisher, PublishOutcome } from "../../shared/events/lifecyclePublisher";
import { recordRotationOutcome } from "../../shared/rotation/activities/recordOutcome";
import { recordBackupOutcome } from "../../shared/backup/activities/audit";
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
