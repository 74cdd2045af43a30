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

/** Independent of shared/backup/planRetention: ISO week by the "Thursday decides the year" rule. */
function isoWeek(iso: string): string {
  const d = new Date(iso);
  const thursday = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 3 - ((d.getUTCDay() + 6) % 7)));
  const jan4 = new Date(Date.UTC(thursday.getUTCFullYear(), 0, 4));
  const week1Monday = Date.UTC(jan4.getUTCFullYear(), 0, 4 - ((jan4.getUTCDay() + 6) % 7));
  return `${thursday.getUTCFullYear()}-W${Math.floor((thursday.getTime() - week1Monday) / (7 * DAY)) + 1}`;
}

function expectedSurvivors(all: Array<{ folder: string; completedAt: string }>, pinned: string): Set<string> {
  const newestFirst = [...all].sort((a, b) => Date.parse(b.completedAt) - Date.parse(a.completedAt));
  const keep = new Set<string>([pinned, newestFirst[0]!.folder]);
  const slots: Array<[number, (iso: string) => string]> = [
    [7, (iso) => iso.slice(0, 10)],
    [4, isoWeek],
    [3, (iso) => iso.slice(0, 7)],
  ];
  for (const [count, periodOf] of slots) {
    const periods = new Set<string>();
    for (const b of newestFirst) {
      const p = periodOf(b.completedAt);
      if (periods.has(p)) continue;
      if (periods.size === count) break;
      periods.add(p);
      keep.add(b.folder);
    }
  }
  return keep;
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
    const folders = new Set((await blobNames(stack.backups())).filter((b) => !b.startsWith("manifests/")).map((b) => b.split("/")[0]));
    expect(folders).toEqual(expected);
  }, 600_000);
});
