/**
 * Retention over 120 simulated nights. Each night the emulator's clock is moved to the
 * night (so job times and folder names advance) and the run waits for its scheduled time on the runner's
 * virtual clock (so the orchestration's "now" advances); retention runs after every verified backup.
 * The surviving set is compared with an independent computation of 7 daily / 4 weekly / 3 monthly, plus a
 * pinned backup from night 5; the newest verified backup survives every night.
 * Needs `npx tsc -p tsconfig.json` first (the runner loads dist/functions/*.js).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blobNames, startBackupTestStack, type BackupTestStack } from "./backupTestStack";
import { loadSettings } from "../../shared/config/settings";
import { nightOf } from "../../shared/backup/runInput";
import { nightlyBackupInputs, startNightlyBackups } from "../../shared/backup/nightlyBackup";
import { manifestBlobName } from "../../shared/backup/backupManifest";
import { expectedRetention } from "../../dev/soak/expectedRetention";
import { RUNNING_BACKUP_HOLD_PREFIX } from "../../shared/backup/runningBackupHolds";
import type { BackupRunResult } from "../../shared/backup/orchestrations/backupHsm";

const DAY = 86_400_000;
const NIGHTS = 120;
const PINNED_NIGHT = 5;

let stack: BackupTestStack;

beforeAll(async () => {
  stack = await startBackupTestStack({ clock: "virtual", settings: { RETENTION_DAILY: "7", RETENTION_WEEKLY: "4", RETENTION_MONTHLY: "3", POLLER_INTERVAL_MS: "0" } });
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

/** Independent of shared/backup/planRetention (dev/soak/expectedRetention.ts): 7 daily / 4 weekly / 3 monthly and the pin. */
function expectedSurvivors(all: Array<{ folder: string; completedAt: string }>, pinned: string): Set<string> {
  return expectedRetention(all, { daily: 7, weekly: 4, monthly: 3 }, [pinned]);
}

async function shiftEmulatorTo(target: number): Promise<void> {
  const now = Date.parse((await stack.control("GET", "/_emulator/clock")).body.now as string);
  if (target > now) {
    const r = await stack.control("POST", "/_emulator/clock", { shiftMs: target - now });
    expect(r.status).toBe(200);
  }
}

describe("retention over 120 simulated nights", () => {
  it("keeps exactly the expected set, the pinned backup and always the newest verified one", async () => {
    const settings = loadSettings();
    const firstNight = Date.parse(`${nightOf(new Date())}T02:00:00Z`) + DAY; // tomorrow 02:00, ahead of both clocks
    const created: Array<{ folder: string; completedAt: string }> = [];
    let pinned = "";
    let deletedTotal = 0;
    // DR self-backups (no manifest; each drill leaves one): retention keeps the DR HSM's newest and those within
    // RETENTION_DAILY days of the last night, and deletes the rest, blobs and all.
    const drFolder = (night: number): string => `mhsm-dr-${new Date(firstNight + night * DAY + 2 * 3_600_000).toISOString().replace(/\D/g, "").slice(0, 14)}00`;
    const drFolders = { old: drFolder(2), recent: drFolder(NIGHTS - 3), newest: drFolder(NIGHTS - 2) };
    for (const f of Object.values(drFolders)) {
      for (const blob of [`${f}/manifest.json`, `${f}/keys/k1.json`]) await stack.backups().getBlockBlobClient(blob).upload("{}", 2);
    }
    for (let n = 0; n < NIGHTS; n++) {
      const at = firstNight + n * DAY;
      await shiftEmulatorTo(at);
      const [decision] = await startNightlyBackups(stack.durableClient(), nightlyBackupInputs(settings, new Date(at)));
      expect(decision?.action).toBe("started");
      const [instance] = await stack.runner.waitForTerminal([decision!.instanceId]);
      expect(instance?.runtimeStatus, `night ${n}: ${instance?.output ?? ""}`).toBe("Completed");
      const result = JSON.parse(instance!.output!) as BackupRunResult;
      expect(result.retention).not.toHaveProperty("error");
      deletedTotal += (result.retention as { deleted: string[] }).deleted.length;

      const manifest = stack.backups().getBlobClient(manifestBlobName(result.folder));
      const metadata = (await manifest.getProperties()).metadata ?? {};
      expect(metadata["verifiedat"], `night ${n} not verified`).toBeDefined();
      created.push({ folder: result.folder, completedAt: metadata["completedat"]! });
      if (n === PINNED_NIGHT) {
        // What an operator does (`az storage blob metadata update … pinned=true`).
        await manifest.setMetadata({ ...metadata, pinned: "true" });
        pinned = result.folder;
      }
      // The newest verified backup survives every night's retention, and the pin holds.
      const manifests = await blobNames(stack.backups(), "manifests/");
      expect(manifests).toContain(manifestBlobName(result.folder));
      if (pinned !== "") expect(manifests).toContain(manifestBlobName(pinned));
    }

    const expected = expectedSurvivors(created, pinned);
    const survivors = (await blobNames(stack.backups(), "manifests/")).map((m) => m.slice("manifests/".length, -".json".length));
    expect(new Set(survivors)).toEqual(expected);
    // 7 daily + the weekly and monthly slots outside those days + the pin; everything else deleted, folders too.
    expect(survivors.length).toBeGreaterThanOrEqual(10);
    expect(survivors.length).toBeLessThanOrEqual(15);
    expect(deletedTotal).toBe(NIGHTS - survivors.length);
    const folders = new Set((await blobNames(stack.backups())).filter((b) => !b.startsWith("manifests/") && !b.startsWith(RUNNING_BACKUP_HOLD_PREFIX)).map((b) => b.split("/")[0]));
    expect(folders).toEqual(new Set([...expected, drFolders.recent, drFolders.newest]));
  }, 600_000);
});
