/**
 * The backup workflow on runner + emulator + Azurite (virtual clock): the nightly timer backs up, the backup
 * is verified, a second trigger the same night does nothing, failed jobs are retried with backoff and then
 * end in BackupFailed with the cause, and unreachable storage fails the run without touching older backups.
 * Needs `npx tsc -p tsconfig.json` first (the runner loads dist/functions/*.js).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blobNames, startBackupTestStack, type BackupTestStack } from "./backupTestStack";
import { loadSettings } from "../../shared/config/settings";
import { backupInstanceId, nightOf } from "../../shared/backup/runInput";
import { nightlyBackupInputs, startNightlyBackups } from "../../shared/backup/nightlyBackup";
import { manifestBlobName, parseBackupManifest } from "../../shared/backup/backupManifest";
import type { BackupRunResult } from "../../shared/backup/orchestrations/backupHsm";
import { eventTypeName } from "../../runner/historyEvents";
import { KeyVaultAccessControlClient } from "../../shared/hsm/keyVaultAccessControlClient";
import { HSM_BACKUP_ROLE, roleDefinitionIdOf } from "../../shared/rbac/lifecycleRoles";

let stack: BackupTestStack;
const DAY = 86_400_000;

beforeAll(async () => {
  // A deadline that has passed by the first failure: this file tests the retries within one attempt of the
  // night (job attempts, durable's activity retries); waiting out an outage is backupDeadline.test.ts.
  stack = await startBackupTestStack({ clock: "virtual", settings: { BACKUP_DEADLINE: "PT1S" } });
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

/** Starts the night that begins `days` after today, through the same starter the timer uses. */
async function runNight(days: number): Promise<string> {
  const at = new Date(Date.parse(`${nightOf(new Date())}T02:00:00Z`) + days * DAY);
  const [decision] = await startNightlyBackups(stack.durableClient(), nightlyBackupInputs(loadSettings(), at));
  expect(decision?.action).toBe("started");
  await stack.runner.waitForTerminal([decision!.instanceId]);
  return decision!.instanceId;
}

async function auditRecords(prefix: string): Promise<Array<Record<string, any>>> {
  const out: Array<Record<string, any>> = [];
  for (const name of await blobNames(stack.audit(), prefix)) {
    out.push(JSON.parse((await stack.audit().getBlobClient(name).downloadToBuffer()).toString("utf8")) as Record<string, any>);
  }
  return out;
}

describe("nightly HSM backup (runner + emulator + Azurite)", () => {
  const tonight = nightOf(new Date());
  const id = backupInstanceId("primary", tonight);
  let first: BackupRunResult;

  it("a scheduled run produces the backup folder and a verified manifest, publishes BackupCompleted and writes an audit record", async () => {
    expect(stack.runner.functions).toEqual(expect.arrayContaining(["backupTimer", "hsmBackup", "startBackup", "recordBackupOutcome", "applyBackupRetention"]));
    await stack.runner.fireTimer("backupTimer");
    const [instance] = await stack.runner.waitForTerminal([id]);
    expect(instance?.runtimeStatus, instance?.output ?? "").toBe("Completed");
    first = JSON.parse(instance!.output!) as BackupRunResult;
    expect(first).toMatchObject({ kind: "completed", hsmName: "primary", night: tonight, adopted: false, attempts: 1, jobFailures: [] });

    const folderBlobs = await blobNames(stack.backups(), `${first.folder}/`);
    expect(folderBlobs.length).toBeGreaterThan(0);
    const manifestBlob = stack.backups().getBlobClient(manifestBlobName(first.folder));
    const props = await manifestBlob.getProperties();
    expect(props.metadata?.["verifiedat"]).toBe(first.verifiedAt);
    const manifest = parseBackupManifest((await manifestBlob.downloadToBuffer()).toString("utf8"), manifestBlobName(first.folder));
    expect(manifest.digest.value).toBe(first.manifestDigest);
    expect(manifest.backup.jobId).toBe(first.jobId);
    expect(manifest.blobs.map((b) => b.name)).toEqual(folderBlobs);
    expect(manifest.keys.map((k) => k.name).sort()).toEqual(["api-ec", "payments-signer"]);
    // The run held its folder from the job's start until the manifest was written, then released the hold.
    const scheduled = instance!.history.filter((e) => eventTypeName(e.EventType) === "TaskScheduled").map((e) => e.Name);
    expect(scheduled.indexOf("startBackup")).toBeLessThan(scheduled.indexOf("holdBackupFolder"));
    expect(scheduled.indexOf("holdBackupFolder")).toBeLessThan(scheduled.indexOf("writeBackupManifest"));
    expect(scheduled.indexOf("writeBackupManifest")).toBeLessThan(scheduled.indexOf("releaseBackupFolder"));
    const hold = JSON.parse((await stack.backups().getBlobClient("backup-holds/primary.json").downloadToBuffer()).toString("utf8"));
    expect(hold).toMatchObject({ hsmName: "primary", referencedBy: id });
    expect(Date.parse(hold.referencedUntil)).toBeLessThanOrEqual(Date.now()); // released: expired, not deleted (the backup identity never deletes)

    // The HSM saw the backup made by the backup identity (least privilege), through the admin API.
    const audit = await stack.control("GET", "/_emulator/audit?operationName=BackupCreate");
    expect(audit.body.value.some((r: any) => r.identity?.claim?.oid === stack.backupIdentity && r.resultSignature === "Succeeded")).toBe(true);

    expect(first.record).toMatchObject({ event: { kind: "published", type: "HsmLifecycle.BackupCompleted", id: `${id}:completed` }, audit: { written: true } });
    const [record] = await auditRecords(`backup/primary/${tonight}/`);
    expect(record).toMatchObject({ outcome: "completed", data: { hsmName: "primary", jobId: first.jobId, verified: true, runId: id, folderUrl: first.folderUrl } });
  });

  it("a second trigger the same night does nothing", async () => {
    const before = stack.runner.host.get(id)!;
    const historyLength = before.history.length;
    const folders = await blobNames(stack.backups(), "manifests/");
    await stack.runner.fireTimer("backupTimer");
    await stack.runner.waitForIdle();
    const after = stack.runner.host.get(id)!;
    expect(after.runtimeStatus).toBe("Completed");
    expect(after.history.length).toBe(historyLength);
    expect(JSON.parse(after.output!)).toEqual(first);
    expect(await blobNames(stack.backups(), "manifests/")).toEqual(folders);
    // The starter says why, as a value.
    const [decision] = await startNightlyBackups(stack.durableClient(), nightlyBackupInputs(loadSettings(), new Date()));
    expect(decision).toEqual({ hsmName: "primary", instanceId: id, action: "skipped", reason: `backup ${id} is already Completed` });
  });

  it("a failed backup job is started again after a backoff and the run completes", async () => {
    await stack.control("PUT", "/_emulator/admin-faults", { failBackupJobs: 1, message: "The backup job failed inside the HSM: internal error while sealing the backup." });
    const runId = await runNight(1);
    const instance = stack.runner.host.get(runId)!;
    expect(instance.runtimeStatus).toBe("Completed");
    const result = JSON.parse(instance.output!) as BackupRunResult;
    expect(result.attempts).toBe(2);
    expect(result.jobFailures).toEqual([expect.stringContaining("[JobFailed] The backup job failed on the HSM (InternalError): The backup job failed inside the HSM: internal error while sealing the backup.")]);
    expect((await stack.backups().getBlobClient(manifestBlobName(result.folder)).getProperties()).metadata?.["verifiedat"]).toBeDefined();
  });

  it("injected job failures are retried with growing backoff, then the run ends in BackupFailed with the cause", async () => {
    const manifestsBefore = await blobNames(stack.backups(), "manifests/");
    await stack.control("PUT", "/_emulator/admin-faults", { failBackupJobs: 3, message: "The backup job failed inside the HSM: internal error while sealing the backup." });
    const runId = await runNight(2);
    const instance = stack.runner.host.get(runId)!;
    expect(instance.runtimeStatus).toBe("Failed");
    expect(instance.output).toContain("[JobFailed] The backup job failed on the HSM (InternalError)");
    expect(instance.output).toContain("3 backup jobs tried");
    expect((await stack.control("GET", "/_emulator/admin-faults")).body.failBackupJobs).toBe(0);

    // Three startBackup calls, with backoff timers of 60 s and then 120 s between them.
    const history = instance.history;
    const starts = history.filter((e) => eventTypeName(e.EventType) === "TaskScheduled" && e.Name === "startBackup");
    expect(starts).toHaveLength(3);
    const timers = history.filter((e) => eventTypeName(e.EventType) === "TimerCreated").map((e) => Date.parse(String(e.FireAt)) - Date.parse(String(e.Timestamp)));
    const backoffs = timers.filter((ms) => ms >= 50_000 && ms < 3_600_000); // not the wait for the night's scheduled time
    expect(backoffs).toHaveLength(2);
    expect(backoffs[0]).toBeGreaterThanOrEqual(59_000);
    expect(backoffs[0]).toBeLessThanOrEqual(60_000);
    expect(backoffs[1]).toBeGreaterThanOrEqual(119_000);
    expect(backoffs[1]).toBeLessThanOrEqual(120_000);

    const night = runId.split(":")[2]!;
    const records = await auditRecords(`backup/primary/${night}/`);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ outcome: "failed", data: { errorCode: "JobFailed", runId, jobId: expect.stringMatching(/^[0-9a-f]{32}$/) }, event: { kind: "published", type: "HsmLifecycle.BackupFailed" } });
    expect(records[0]!["data"].message).toContain("internal error while sealing the backup");
    expect(await blobNames(stack.backups(), "manifests/")).toEqual(manifestsBefore);
  });

  it("with storage unreachable the run fails naming the cause and older backups are untouched", async () => {
    const before = new Map<string, string | undefined>();
    for (const name of await blobNames(stack.backups())) before.set(name, (await stack.backups().getBlobClient(name).getProperties()).etag);
    await stack.gate.cut();
    let runId: string;
    try {
      runId = await runNight(3);
    } finally {
      await stack.gate.open();
    }
    const instance = stack.runner.host.get(runId)!;
    expect(instance.runtimeStatus).toBe("Failed");
    expect(instance.output).toContain("[StorageUnreachable]");
    expect(instance.output).toContain("Fix:");
    const after = new Map<string, string | undefined>();
    for (const name of await blobNames(stack.backups())) after.set(name, (await stack.backups().getBlobClient(name).getProperties()).etag);
    expect(after).toEqual(before);
    // The audit record could not be written (storage is down), which the run reports instead of hiding it.
    const history = instance.history.filter((e) => eventTypeName(e.EventType) === "TaskCompleted").map((e) => String(e.Result));
    const recorded = JSON.parse(history[history.length - 1]!) as { event: { kind: string; type: string }; audit: { written: boolean; error?: string } };
    expect(recorded.event).toMatchObject({ kind: "published", type: "HsmLifecycle.BackupFailed" });
    expect(recorded.audit).toMatchObject({ written: false, error: expect.stringContaining("[StorageUnreachable]") });
  });
  it("without the HSM Lifecycle Backup role the run fails at once, naming the role and the fix; nothing is retried", async () => {
    const rbac = new KeyVaultAccessControlClient(stack.hsmUrl, stack.local.adminCredential, stack.local.clientOptions());
    const backupRole = (a: { properties: { principalId?: string; roleDefinitionId?: string } }): boolean =>
      a.properties.principalId === stack.backupIdentity && (a.properties.roleDefinitionId ?? "").endsWith(HSM_BACKUP_ROLE.name);
    const removed: string[] = [];
    for await (const a of rbac.listRoleAssignments("/")) if (backupRole(a)) removed.push(a.name);
    expect(removed).toHaveLength(1);
    for (const name of removed) await rbac.deleteRoleAssignment("/", name);
    const manifestsBefore = await blobNames(stack.backups(), "manifests/");
    let runId: string;
    try {
      runId = await runNight(4);
    } finally {
      await rbac.createRoleAssignment("/", removed[0]!, roleDefinitionIdOf(HSM_BACKUP_ROLE), stack.backupIdentity);
    }
    const instance = stack.runner.host.get(runId)!;
    expect(instance.runtimeStatus).toBe("Failed");
    expect(JSON.parse(instance.output!)).toMatch(/\[MissingRole\] .*lacks the "HSM Lifecycle Backup" role\. Fix: assign "HSM Lifecycle Backup" to the function app's identity on scope \//);
    // The pre-backup check was refused once and reported at once: no retry, no backoff timer, no backup job.
    const history = instance.history;
    expect(history.filter((e) => eventTypeName(e.EventType) === "TaskScheduled").map((e) => e.Name)).toEqual(["preBackupCheck", "recordBackupOutcome"]);
    expect(history.filter((e) => ["TaskFailed", "TimerCreated"].includes(eventTypeName(e.EventType)) && !String(e.FireAt ?? "").endsWith("T02:00:00.000Z"))).toEqual([]);
    const night = runId.split(":")[2]!;
    const records = await auditRecords(`backup/primary/${night}/`);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ outcome: "failed", data: { errorCode: "MissingRole", runId }, event: { kind: "published", type: "HsmLifecycle.BackupFailed" } });
    expect(await blobNames(stack.backups(), "manifests/")).toEqual(manifestsBefore);
  });
});
