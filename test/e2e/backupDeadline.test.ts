/**
 * A night is not lost to a transient failure: storage is cut when the backup starts and restored a while later
 * (virtual time: the runner's clock jumps from durable timer to timer, and the test opens storage only after the
 * run has waited out the outage twice); the night's backup then completes, verified, and says what it waited
 * out. Storage that stays down until BACKUP_DEADLINE fails the night naming the cause and the deadline.
 * Needs `npx tsc -p tsconfig.json` first (the runner loads dist/functions/*.js).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBackupTestStack, type BackupTestStack } from "./backupTestStack";
import { loadSettings } from "../../shared/config/settings";
import { nightOf } from "../../shared/backup/runInput";
import { nightlyBackupInputs, startNightlyBackups } from "../../shared/backup/nightlyBackup";
import { manifestBlobName } from "../../shared/backup/backupManifest";
import type { BackupRunResult } from "../../shared/backup/orchestrations/backupHsm";

let stack: BackupTestStack;
const DAY = 86_400_000;

beforeAll(async () => {
  stack = await startBackupTestStack({ clock: "virtual", settings: { BACKUP_DEADLINE: "PT30M" } });
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

/** Starts the night `days` after today through the timer's own starter; returns its instance id. */
async function startNight(days: number): Promise<string> {
  const at = new Date(Date.parse(`${nightOf(new Date())}T02:00:00Z`) + days * DAY);
  const [decision] = await startNightlyBackups(stack.durableClient(), nightlyBackupInputs(loadSettings(), at));
  expect(decision?.action).toBe("started");
  return decision!.instanceId;
}

const custom = (id: string): { stage?: string; waits?: number; code?: string } => {
  const raw = stack.runner.host.get(id)?.customStatus;
  return (typeof raw === "string" ? JSON.parse(raw) : (raw ?? {})) as { stage?: string; waits?: number; code?: string };
};

describe("the nightly deadline (BACKUP_DEADLINE)", () => {
  it("storage cut when the backup starts, restored later: the night's backup completes, verified, naming what it waited out", async () => {
    expect(loadSettings().backupDeadlineMs).toBe(30 * 60_000);
    await stack.gate.cut();
    let id: string;
    try {
      id = await startNight(1);
      // Let virtual time run until the run has waited out the outage twice, then bring storage back.
      await stack.runner.host.waitForIdle(() => custom(id).stage === "waitingForRecovery" && (custom(id).waits ?? 0) >= 2);
      expect(custom(id)).toMatchObject({ stage: "waitingForRecovery", code: "StorageUnreachable" });
      expect(stack.runner.host.get(id)?.runtimeStatus).toBe("Running");
    } finally {
      await stack.gate.open();
    }
    const [instance] = await stack.runner.waitForTerminal([id]);
    expect(instance?.runtimeStatus, instance?.output ?? "").toBe("Completed");
    const result = JSON.parse(instance!.output!) as BackupRunResult;
    expect(result.kind).toBe("completed");
    expect(result.recovered.length).toBeGreaterThanOrEqual(2);
    for (const r of result.recovered) expect(r).toMatch(/: StorageUnreachable at \d{4}-/);
    const props = await stack.backups().getBlobClient(manifestBlobName(result.folder)).getProperties();
    expect(props.metadata?.["verifiedat"]).toBe(result.verifiedAt);
  }, 240_000);

  it("storage down past the deadline: the night fails naming the cause and the deadline", async () => {
    await stack.gate.cut();
    let id: string;
    try {
      id = await startNight(2);
      await stack.runner.waitForTerminal([id]);
    } finally {
      await stack.gate.open();
    }
    const instance = stack.runner.host.get(id)!;
    expect(instance.runtimeStatus).toBe("Failed");
    expect(instance.output).toContain("[StorageUnreachable]");
    // Waits of 1, 2, 4 and 8 minutes, then the last one cut at the deadline (30 minutes after the start).
    expect(instance.output).toMatch(/waited out and retried 5 times until the backup deadline \S+ \(BACKUP_DEADLINE\)/);
  }, 240_000);
});
