/**
 * Adoption (real clock): a backup job already running when the nightly run starts (the HSM answers
 * 409 to the pre-check and to the backup) is ADOPTED: the run follows that job to its end, writes and
 * verifies its manifest, and never starts a second job. Azurite is frozen (SIGSTOP) to hold the job mid-flight.
 * Needs `npx tsc -p tsconfig.json` first (the runner loads dist/functions/*.js).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blobNames, startBackupTestStack, type BackupTestStack } from "./backupTestStack";
import { KeyVaultBackupClient } from "../../shared/hsm/keyVaultBackupClient";
import { backupInstanceId, nightOf } from "../../shared/backup/runInput";
import { manifestBlobName } from "../../shared/backup/backupManifest";
import type { BackupRunResult } from "../../shared/backup/orchestrations/backupHsm";
import { eventTypeName } from "../../runner/historyEvents";

let stack: BackupTestStack;

beforeAll(async () => {
  stack = await startBackupTestStack({ clock: "real", settings: { POLLER_INTERVAL_MS: "100" } });
}, 120_000);

afterAll(async () => {
  stack?.gate.release();
  await stack?.close();
});

async function until<T>(what: string, read: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("409: a backup job already running is adopted", () => {
  it("follows the running job instead of failing or starting another", async () => {
    const id = backupInstanceId("primary", nightOf(new Date()));
    const containerUrl = `http://127.0.0.1:${stack.gate.port}/devstoreaccount1/${stack.backupContainer}`;
    stack.gate.hold(); // the HSM's writes wait in the gate: its job stays InProgress
    let resumed = false;
    try {
      const manual = await new KeyVaultBackupClient(stack.hsmUrl, stack.local.adminCredential, stack.local.clientOptions()).beginBackup(containerUrl);
      const manualJobId = manual.getOperationState().jobId;
      expect(manualJobId).toMatch(/^[0-9a-f]{32}$/);

      await stack.runner.fireTimer("backupTimer");
      const status = await until("the run to adopt the job", () => {
        const s = stack.runner.host.get(id)?.customStatus as { stage?: string; adopted?: boolean; jobId?: string } | undefined;
        return s?.stage === "monitoring" && s.adopted === true ? s : undefined;
      });
      expect(status.jobId).toBe(manualJobId);
      stack.gate.release();
      resumed = true;

      const [instance] = await stack.runner.waitForTerminal([id]);
      expect(instance?.runtimeStatus, instance?.output ?? "").toBe("Completed");
      const result = JSON.parse(instance!.output!) as BackupRunResult;
      expect(result).toMatchObject({ kind: "completed", adopted: true, jobId: manualJobId, attempts: 1 });
      expect((await stack.backups().getBlobClient(manifestBlobName(result.folder)).getProperties()).metadata?.["verifiedat"]).toBe(result.verifiedAt);
      expect(await blobNames(stack.backups(), "manifests/")).toEqual([manifestBlobName(result.folder)]);

      // One startBackup call (answered 409 → adopted), and exactly one backup job on the HSM.
      const names = instance!.history.filter((e) => eventTypeName(e.EventType) === "TaskScheduled").map((e) => e.Name);
      expect(names.filter((n) => n === "startBackup")).toHaveLength(1);
      const jobs = await stack.control("GET", "/_emulator/audit?operationName=BackupCreate");
      const ended = jobs.body.value.filter((r: any) => r.operationVersion === "job");
      expect(ended.map((r: any) => r.correlationId)).toEqual([manualJobId]);
      // The pre-check met the running job too (409), which sent the run to adoption instead of failing. A
      // conflict is permanent for that call, so the activity handed it back as a value: no retry, no TaskFailed.
      const scheduled = instance!.history.find((e) => eventTypeName(e.EventType) === "TaskScheduled" && e.Name === "preBackupCheck");
      const answered = instance!.history.find((e) => eventTypeName(e.EventType) === "TaskCompleted" && e.TaskScheduledId === scheduled?.EventId);
      expect(JSON.parse(String(answered?.Result))).toMatchObject({ permanentFailure: { code: "Conflict", message: expect.stringMatching(/^\[Conflict\] /) } });
      expect(instance!.history.filter((e) => eventTypeName(e.EventType) === "TaskFailed")).toEqual([]);
    } finally {
      if (!resumed) stack.gate.release();
    }
  }, 60_000);
});
