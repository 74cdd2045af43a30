/**
 * Acceptance soak: eight weeks unattended, time-compressed (the emulator's clocks moved night by night, the
 * runner's virtual time for the orchestrations), through dev/soak/soakSimulation.ts — the same core as
 * `node dist/bench/soak.js`. Nightly backups, daily sweeps started with them (rotations run during backups), weekly
 * full drills, the daily re-verification of every stored backup, manual backup and drill requests while those run,
 * a storage outage on one night and a backup altered in storage after verification: the re-verification catches
 * it that night and the drill falls back to the night before's. The stack runs with the immutable copy
 * (`backupCopy`: Azurite on HTTPS with OAuth, the copy container reached with the app's managed identity).
 * Needs `npx tsc -p tsconfig.json` first (the runner loads dist/functions/*.js).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack, type LocalStack } from "../../dev/localStack";
import { runSoak, soakStackOptions, type SoakResult } from "../../dev/soak/soakSimulation";

const DAYS = 56;
const OUTAGE_NIGHT = 17;
/** A drill night (nights 6, 13, 20, … drill). */
const TAMPER_NIGHT = 34;

let stack: LocalStack;
let stateDir: string;
let result: SoakResult;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "soak-e2e-"));
  stack = await startLocalStack({ stateDir, ...soakStackOptions() });
}, 180_000);

afterAll(async () => {
  await stack?.close();
  if (stateDir !== undefined) rmSync(stateDir, { recursive: true, force: true });
});

describe("eight weeks unattended", () => {
  it("runs every night, drill and sweep", async () => {
    result = await runSoak(stack, { days: DAYS, outageNight: OUTAGE_NIGHT, tamperNight: TAMPER_NIGHT });
    expect(result.nights).toBe(DAYS);
  }, 600_000);

  it("has a verified backup every night but two, each named: the outage night's failure and the altered backup", () => {
    for (const night of result.log) {
      if (night.night === OUTAGE_NIGHT) {
        expect(night.backup.outcome).toBe("failed");
        if (night.backup.outcome === "failed") expect(night.backup.cause).toMatch(/StorageUnreachable[\s\S]*BACKUP_DEADLINE/);
      } else {
        expect(night.backup, `night ${night.night}`).toMatchObject({ outcome: "verified" });
      }
      expect(night.sweep, `night ${night.night}'s sweep`).toMatch(/: Completed$/);
      // Every stored backup is re-hashed every night; only the altered one ever fails, on the night it was altered.
      expect(night.reverify.checked, `night ${night.night}`).toBeGreaterThan(0);
      expect(night.reverify.errors).toBe(0);
      expect(night.reverify.failed).toEqual(night.night === TAMPER_NIGHT ? [result.tampered!.folder] : []);
    }
    expect(result.integrityFailuresCaught).toBe(1);
    // Every verified backup was copied over HTTPS with the backup identity's token, its digests checked afterwards
    // (copyBackup re-hashes the copy against the manifest; a mismatch would have failed the night).
    for (const night of result.log) {
      if (night.backup.outcome !== "verified") continue;
      expect(night.backup.copy, `night ${night.night}`).not.toBeNull();
      expect(night.backup.copy!.destinationUrl).toBe(stack.backupCopy!.url);
      expect(night.backup.copy!.destinationUrl).toMatch(/^https:\/\//);
      expect(night.backup.copy!.copied + night.backup.copy!.alreadyPresent).toBeGreaterThan(0);
      // Azurite reports no immutability policy or legal hold on blobs: the copy says it saw none.
      expect(night.backup.copy!.immutability).toEqual({ visible: false });
      expect(night.backup.copiesRetained).toBe(0);
    }
    expect(result.verifiedBackups).toBe(DAYS - 2);
  });

  it("turns away the manual requests made while a backup or drill runs (409 naming the run)", () => {
    const manualBackups = result.log.flatMap((n) => (n.manualBackup === undefined ? [] : [n.manualBackup]));
    const manualDrills = result.log.flatMap((n) => (n.manualDrill === undefined ? [] : [n.manualDrill]));
    expect(manualBackups.length).toBeGreaterThanOrEqual(10);
    expect(manualDrills.length).toBeGreaterThanOrEqual(2);
    for (const status of [...manualBackups, ...manualDrills]) expect(status).toBe(409);
  });

  it("passes every weekly drill; the drill of the altered backup does not pass with it", () => {
    const drills = result.log.flatMap((n) => (n.drill === undefined ? [] : [{ night: n.night, ...n.drill }]));
    expect(drills.map((d) => d.night)).toEqual([6, 13, 20, 27, 34, 41, 48, 55]);
    for (const d of drills) {
      if (d.night === TAMPER_NIGHT) continue;
      expect(d.rejected, `night ${d.night}`).toEqual([]);
      expect(d, `night ${d.night}: ${d.failures.join("; ")}`).toMatchObject({ verdict: "passed" });
      expect(d.backupFolder).toBe((result.log[d.night]!.backup as { folder: string }).folder);
    }
    // The altered backup's drill fell back to the night before's, intact, and its report names the one it passed over.
    const tampered = result.tampered!;
    expect(tampered.folder).toBe((result.log[TAMPER_NIGHT]!.backup as { folder: string }).folder);
    const drill = tampered.drill!;
    expect(drill.verdict, drill.failures.join("; ")).toBe("passed");
    expect(drill.backupFolder).toBe((result.log[TAMPER_NIGHT - 1]!.backup as { folder: string }).folder);
    expect(drill.rejected).toContain(tampered.folder);
    expect(result.drillsFailed).toBe(0);
    expect(result.drillsPassed + result.drillsFailed).toBe(drills.length);
  });

  it("ends with exactly the daily/weekly/monthly set, no orphan folder, nothing deleted while referenced", () => {
    expect(result.retention.actual).toEqual(result.retention.expected);
    // 7 daily, the weeks and months beyond them: over eight weeks between 9 and 14 backups remain.
    expect(result.retention.actual.length).toBeGreaterThanOrEqual(9);
    expect(result.retention.actual.length).toBeLessThanOrEqual(14);
    // Copies follow their backups: exactly the retained set is left in the copy container.
    expect(result.copies).toEqual(result.retention.actual);
    expect(result.orphanFolders).toBe(0);
    expect(result.deletedWhileReferenced).toBe(0);
  });
});
