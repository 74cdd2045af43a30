/**
 * An outcome's audit record is not lost to a storage outage: the nightly backup fails with storage cut, its
 * BackupFailed audit record cannot be written, and `recordBackupOutcome` hands it to `auditRecordRetry`. Storage
 * comes back; the runner's virtual clock jumps to the first retry (5 minutes later) and the record is written
 * with its original content, write-once: a second retry finds it already there and changes nothing, a different
 * record under that name is a conflict that stops retrying, and storage that stays away for the whole schedule
 * ends in `gaveUp` after ten attempts at the scheduled times.
 * Needs `npx tsc -p tsconfig.json` first (the runner loads dist/functions/*.js).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blobNames, startBackupTestStack, type BackupTestStack } from "./backupTestStack";
import { loadSettings } from "../../shared/config/settings";
import { nightOf } from "../../shared/backup/runInput";
import { nightlyBackupInputs, startNightlyBackups } from "../../shared/backup/nightlyBackup";
import type { RecordBackupOutcomeOutput } from "../../shared/backup/activities/audit";
import type { AuditRecordRetryInput, AuditRecordRetryOutput } from "../../shared/auditRetry/auditRetryInput";
import { auditRetryOffsetsMs } from "../../shared/auditRetry/retrySchedule";
import { auditRetryInstanceId, startAuditRecordRetry } from "../../shared/auditRetry/startAuditRecordRetry";
import { orchestrationNames } from "../../shared/names";
import { eventTypeName } from "../../runner/historyEvents";

let stack: BackupTestStack;
const DAY = 86_400_000;
const MIN = 60_000;

beforeAll(async () => {
  // A one-second deadline: with storage cut the night fails at once, as the outage night does after its deadline.
  stack = await startBackupTestStack({ clock: "virtual", settings: { BACKUP_DEADLINE: "PT1S" } });
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

const TERMINAL = new Set(["Completed", "Failed", "Terminated", "Canceled"]);
const terminal = (id: string): boolean => TERMINAL.has(stack.runner.host.get(id)?.runtimeStatus ?? "Pending");
/** Lets the runner work (the virtual clock jumping from timer to timer) only until `id` has ended. */
async function runUntilEnded(id: string): Promise<void> {
  while (!terminal(id)) {
    await stack.runner.host.waitForIdle(() => terminal(id));
    if (!terminal(id)) await new Promise((r) => setTimeout(r, 25));
  }
}
const outputOf = <T>(id: string): T => JSON.parse(stack.runner.host.get(id)!.output!) as T;
/**
 * Each durable timer's wait, from the instance's start as the orchestration sees it: its first episode's
 * `currentUtcDateTime` (the first OrchestratorStarted), which may be a millisecond after ExecutionStarted.
 */
const timerOffsets = (id: string): number[] => {
  const history = stack.runner.host.get(id)!.history;
  const started = Date.parse(String(history.find((e) => eventTypeName(e.EventType) === "OrchestratorStarted")!.Timestamp));
  return history.filter((e) => eventTypeName(e.EventType) === "TimerCreated").map((e) => Date.parse(String(e.FireAt)) - started);
};
const readJson = async (name: string): Promise<Record<string, any>> => JSON.parse((await stack.audit().getBlobClient(name).downloadToBuffer()).toString("utf8")) as Record<string, any>;

describe("audit records lost to a storage outage (auditRecordRetry)", () => {
  let retryId: string;
  let retryInput: AuditRecordRetryInput;

  it("the failed night's record is handed to a retry, then written on the first retry once storage is back", async () => {
    const at = new Date(Date.parse(`${nightOf(new Date())}T02:00:00Z`) + DAY);
    await stack.gate.cut();
    let runId: string;
    try {
      const [decision] = await startNightlyBackups(stack.durableClient(), nightlyBackupInputs(loadSettings(), at));
      expect(decision?.action).toBe("started");
      runId = decision!.instanceId;
      await runUntilEnded(runId);
      expect(stack.runner.host.get(runId)!.runtimeStatus).toBe("Failed");
      expect(stack.runner.host.get(runId)!.output).toContain("[StorageUnreachable]");

      // The outcome activity could not write the record and started its retry instead.
      const completions = stack.runner.host.get(runId)!.history.filter((e) => eventTypeName(e.EventType) === "TaskCompleted").map((e) => String(e.Result));
      const recorded = JSON.parse(completions.at(-1)!) as RecordBackupOutcomeOutput;
      expect(recorded.event).toMatchObject({ kind: "published", type: "HsmLifecycle.BackupFailed" });
      expect(recorded.audit).toMatchObject({ written: false, error: expect.stringContaining("[StorageUnreachable]"), retry: { kind: "started" } });
      retryId = (recorded.audit as { retry: { instanceId: string } }).retry.instanceId;
      const retry = stack.runner.host.get(retryId)!;
      expect(retry.name).toBe(orchestrationNames.auditRecordRetry);
      retryInput = JSON.parse(retry.input!) as AuditRecordRetryInput;
      expect(retryId).toBe(auditRetryInstanceId(retryInput.blobName));
      expect(retryInput).toMatchObject({ workload: "backup", blobName: expect.stringMatching(new RegExp(`^backup/primary/${runId.split(":")[2]}/.+-failed\\.json$`)), error: expect.stringContaining("[StorageUnreachable]") });
      expect(retryInput.record).toMatchObject({ schema: "hsm-lifecycle/audit/backup", outcome: "failed", data: { runId, errorCode: "StorageUnreachable" }, event: { type: "HsmLifecycle.BackupFailed", kind: "published" } });
      // Waiting for its first slot, five minutes on; nothing written yet.
      expect(retry.runtimeStatus).toBe("Running");
      expect(retry.customStatus).toMatchObject({ stage: "waiting", attempt: 1 });
      expect(timerOffsets(retryId)).toEqual([5 * MIN]);
    } finally {
      await stack.gate.open();
    }
    expect(await stack.audit().getBlobClient(retryInput.blobName).exists()).toBe(false);

    await runUntilEnded(retryId);
    expect(stack.runner.host.get(retryId)!.runtimeStatus).toBe("Completed");
    expect(outputOf<AuditRecordRetryOutput>(retryId)).toEqual({ kind: "written", blobName: retryInput.blobName, attempts: 1 });
    // The record as it would have been written that night: same content, same recordedAt.
    expect(await readJson(retryInput.blobName)).toEqual(retryInput.record);
    expect(await blobNames(stack.audit(), retryInput.blobName.slice(0, retryInput.blobName.lastIndexOf("/") + 1))).toEqual([retryInput.blobName]);
  }, 240_000);

  it("a second retry of the same record finds it written and duplicates nothing", async () => {
    const before = await stack.audit().getBlobClient(retryInput.blobName).getProperties();
    // A new failure of the same record leaves the finished retry alone…
    const lines: string[] = [];
    const again = await startAuditRecordRetry(stack.durableClient(), { workload: "backup", blobName: retryInput.blobName, record: retryInput.record }, new Error("[StorageUnreachable] again"), new Date(), (l) => lines.push(l));
    expect(again).toEqual({ kind: "exists", instanceId: retryId });
    expect(lines).toEqual([]);
    // …and a second retry instance with the same input counts the record already there as done.
    const second = `${retryId}:second`;
    await stack.durableClient().startNew(orchestrationNames.auditRecordRetry, { instanceId: second, input: retryInput });
    await runUntilEnded(second);
    expect(outputOf<AuditRecordRetryOutput>(second)).toEqual({ kind: "unchanged", blobName: retryInput.blobName, attempts: 1 });
    const after = await stack.audit().getBlobClient(retryInput.blobName).getProperties();
    expect(after.etag).toBe(before.etag);
    expect(await readJson(retryInput.blobName)).toEqual(retryInput.record);
  }, 120_000);

  it("a different record already under that name stops the retries with a conflict; the original stays", async () => {
    const forged = `${retryId}:forged`;
    await stack.durableClient().startNew(orchestrationNames.auditRecordRetry, { instanceId: forged, input: { ...retryInput, record: { ...retryInput.record, outcome: "completed" } } });
    await runUntilEnded(forged);
    expect(outputOf<AuditRecordRetryOutput>(forged)).toMatchObject({ kind: "conflict", attempts: 1, error: expect.stringMatching(/\[Conflict\].*write-once/) });
    expect(await readJson(retryInput.blobName)).toEqual(retryInput.record);
  }, 120_000);

  it("storage away for the whole schedule: ten attempts at the scheduled times, then it gives up, naming the fix", async () => {
    const blobName = retryInput.blobName.replace(/-failed\.json$/, "-gaveup.json");
    const id = auditRetryInstanceId(blobName);
    await stack.gate.cut();
    try {
      const start = await startAuditRecordRetry(stack.durableClient(), { workload: "backup", blobName, record: retryInput.record }, new Error("[StorageUnreachable] cut"), new Date(), () => undefined);
      expect(start).toEqual({ kind: "started", instanceId: id });
      await runUntilEnded(id);
    } finally {
      await stack.gate.open();
    }
    expect(outputOf<AuditRecordRetryOutput>(id)).toMatchObject({ kind: "gaveUp", attempts: 10, error: expect.stringMatching(/still not written after 10 retries over 72 h .*StorageUnreachable.*Restore access to the audit container for the backup identity/) });
    expect(timerOffsets(id)).toEqual(auditRetryOffsetsMs());
    expect(await stack.audit().getBlobClient(blobName).exists()).toBe(false);
    // A new failure of that record starts the retry again: the last one gave up.
    const restarted = await startAuditRecordRetry(stack.durableClient(), { workload: "backup", blobName, record: retryInput.record }, new Error("[StorageUnreachable] again"), new Date(), () => undefined);
    expect(restarted).toEqual({ kind: "started", instanceId: id });
    await runUntilEnded(id);
    expect(outputOf<AuditRecordRetryOutput>(id)).toMatchObject({ kind: "written", attempts: 1 });
    expect(await readJson(blobName)).toEqual(retryInput.record);
  }, 240_000);
});
