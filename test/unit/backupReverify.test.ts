import { describe, expect, it } from "vitest";
import { authenticatedRecord, reverificationOf } from "../../shared/backup/listBackupRecords";
import { planRetention } from "../../shared/backup/planRetention";
import { backupAttention } from "../../shared/fleet/fleetAttention";
import type { HsmBackupView } from "../../shared/fleet/backupView";
import { manifestAuthenticator } from "../../shared/backup/manifestAuthenticator";
import { manifestMacKeys, recordMac, reverifiedMac, verifiedMac } from "../../shared/backup/manifestTrust";
import { planFolderCleanup } from "../../shared/backup/planFolderCleanup";
import { nextReverification, staleReverification } from "../../shared/backup/reverifySchedule";
import { reverifyInstanceId } from "../../shared/backup/startReverifications";
import type { BackupManifest } from "../../shared/backup/backupManifest";
import type { BackupCandidate, BackupCandidateSource, UnverifiedBackup } from "../../shared/drill/backupCandidate";
import { findLatestVerifiedBackup } from "../../shared/drill/activities/findLatestVerifiedBackup";
import type { DrillDeps } from "../../shared/drill/activities/deps";
import { TEST_MANIFEST_KEY } from "../support/manifestKey";

const auth = manifestAuthenticator(TEST_MANIFEST_KEY);
const FOLDER = "mhsm-primary-2026120502000000";

describe("re-verification record (manifest metadata)", () => {
  const at = "2026-12-06T03:30:05.000Z";
  const record = (result: "passed" | "failed"): Record<string, string> => ({ reverifiedat: at, reverifyresult: result, [manifestMacKeys.reverified]: reverifiedMac(auth, FOLDER, at, result) });

  it("reads an authentic record, passed or failed", () => {
    expect(reverificationOf(record("passed"), FOLDER, auth)).toEqual({ at, passed: true });
    expect(reverificationOf(record("failed"), FOLDER, auth)).toEqual({ at, passed: false });
  });

  it("treats a forged record as absent: result flipped, time moved, copied to another folder, no MAC", () => {
    expect(reverificationOf({ ...record("failed"), reverifyresult: "passed" }, FOLDER, auth)).toBeUndefined();
    expect(reverificationOf({ ...record("passed"), reverifiedat: "2026-12-07T03:30:05.000Z" }, FOLDER, auth)).toBeUndefined();
    expect(reverificationOf(record("passed"), "mhsm-primary-2026120602000000", auth)).toBeUndefined();
    const { [manifestMacKeys.reverified]: _mac, ...bare } = record("passed");
    expect(reverificationOf(bare, FOLDER, auth)).toBeUndefined();
    expect(reverificationOf({ ...record("passed"), reverifyresult: "maybe" }, FOLDER)).toBeUndefined();
  });
});

describe("re-verification schedule", () => {
  const now = new Date("2026-12-06T12:00:00Z");

  it("names the next firing of BACKUP_REVERIFY_SCHEDULE and one instance id per HSM and minute", () => {
    expect(nextReverification("0 30 3 * * *", now)).toBe("2026-12-07T03:30:00.000Z");
    expect(reverifyInstanceId("primary", new Date("2026-12-07T03:30:00.412Z"))).toBe("reverify:primary:20261207T0330");
  });

  it("flags a timer that stopped firing: last re-verification (or, before the first, the oldest backup) older than the schedule's gap plus a day", () => {
    expect(staleReverification("primary", "2026-12-06T03:30:00Z", "2026-11-01T02:00:00Z", "0 30 3 * * *", now)).toBeUndefined();
    expect(staleReverification("primary", "2026-12-04T03:30:00Z", "2026-11-01T02:00:00Z", "0 30 3 * * *", now)).toMatch(/last re-verification of primary's backups ran at 2026-12-04T03:30:00Z.*backupReverifyTimer/);
    expect(staleReverification("primary", null, "2026-12-05T02:00:00Z", "0 30 3 * * *", now)).toBeUndefined();
    expect(staleReverification("primary", null, "2026-12-01T02:00:00Z", "0 30 3 * * *", now)).toMatch(/no backup of primary has been re-verified yet/);
    expect(staleReverification("primary", null, null, "0 30 3 * * *", now)).toBeUndefined();
    // A weekly schedule allows a week.
    expect(staleReverification("primary", "2026-12-01T03:30:00Z", null, "0 30 3 * * 0", now)).toBeUndefined();
  });
});

describe("folder cleanup with running backups' holds", () => {
  const now = new Date("2026-12-06T03:00:00Z");
  it("keeps every folder of the held HSM created since the hold's start, whatever its age; other HSMs are unaffected", () => {
    const plan = planFolderCleanup(
      ["mhsm-primary-2026120102000000", "mhsm-primary-2026120302000000", "mhsm-primary-2026120602000000", "mhsm-dr-2026110104000000", "mhsm-dr-2026120604000000"],
      now,
      1,
      [{ hsmName: "primary", since: "2026-12-02T00:00:00Z", referencedBy: "backup:primary:2026-12-06" }],
    );
    expect(plan.delete.map((d) => d.folder).sort()).toEqual(["mhsm-dr-2026110104000000", "mhsm-primary-2026120102000000"]);
    expect(plan.keep.find((k) => k.folder === "mhsm-primary-2026120302000000")?.reason).toBe("held by the running backup backup:primary:2026-12-06 until its manifest is written");
  });
});

describe("the drill's choice of backup (fallback)", () => {
  const manifest = (folder: string, endTime: string): BackupManifest =>
    ({ hsm: { name: "primary", url: "https://primary.managedhsm.azure.net" }, backup: { folder, folderUrl: `https://acct.blob.core.windows.net/backups/${folder}`, containerUrl: "https://acct.blob.core.windows.net/backups", jobId: `job-${folder}`, startTime: endTime, endTime }, keys: [], blobs: [] }) as unknown as BackupManifest;
  const older = manifest("mhsm-primary-2026120402000000", "2026-12-04T02:05:00Z");
  const newer = manifest("mhsm-primary-2026120502000000", "2026-12-05T02:05:00Z");
  const source = (o: { damaged?: string[]; unverified?: UnverifiedBackup[] }): BackupCandidateSource => ({
    listBackups: async () => [older, newer].map((m): BackupCandidate => ({ manifest: m, verified: true })),
    getBackup: async () => undefined,
    blobProblem: async (c) => ((o.damaged ?? []).includes(c.manifest.backup.folder) ? "blob 'x' does not match its SHA-256 in the manifest" : undefined),
    unverifiedBackups: async () => o.unverified ?? [],
  });
  const deps = (s: BackupCandidateSource): DrillDeps => ({ backups: s }) as unknown as DrillDeps;
  const drillStart = "2026-12-06T04:00:00Z";

  it("restores the newest verified backup when its blobs match; no fallback", async () => {
    const found = await findLatestVerifiedBackup({ primary: "primary", drillStart, checkBlobs: true }, deps(source({})));
    expect(found).toMatchObject({ kind: "found", folder: newer.backup.folder });
    expect("fallback" in found).toBe(false);
  });

  it("passes over a newest backup that fails its pre-restore hash check and names it and why", async () => {
    const found = await findLatestVerifiedBackup({ primary: "primary", drillStart, checkBlobs: true }, deps(source({ damaged: [newer.backup.folder] })));
    expect(found).toMatchObject({ kind: "found", folder: older.backup.folder, fallback: { restored: older.backup.folder, rejected: [{ folder: newer.backup.folder, reason: expect.stringMatching(/^its pre-restore hash check failed: .*SHA-256/) }] } });
  });

  it("names newer backups that are unverified (a failed re-verification), but not older ones or ones after the drill's start", async () => {
    const unverified: UnverifiedBackup[] = [
      { folder: "mhsm-primary-2026120602000000", completedAt: "2026-12-06T02:05:00Z", reason: "its last re-verification failed at 2026-12-06T03:30:00Z" },
      { folder: "mhsm-primary-2026120302000000", completedAt: "2026-12-03T02:05:00Z", reason: "its last re-verification failed at 2026-12-06T03:30:00Z" },
      { folder: "mhsm-primary-2026120605000000", completedAt: "2026-12-06T05:05:00Z", reason: "it is not verified" },
      // Same whole second as the restored backup's end: the folder name (hundredths) decides which is newer.
      { folder: "mhsm-primary-2026120502000050", completedAt: "2026-12-05T02:05:00Z", reason: "it is not verified" },
      { folder: "mhsm-primary-2026120501595999", completedAt: "2026-12-05T02:05:00Z", reason: "it is not verified" },
    ];
    const found = await findLatestVerifiedBackup({ primary: "primary", drillStart, checkBlobs: true }, deps(source({ unverified })));
    expect(found).toMatchObject({ folder: newer.backup.folder, fallback: { restored: newer.backup.folder, rejected: [
      { folder: "mhsm-primary-2026120602000000", reason: "its last re-verification failed at 2026-12-06T03:30:00Z" },
      { folder: "mhsm-primary-2026120502000050", reason: "it is not verified" },
    ] } });
  });

  it("fails as noVerifiedBackup when every verified backup fails its hash check; the plan (no checkBlobs) neither hashes nor reports", async () => {
    const all = source({ damaged: [older.backup.folder, newer.backup.folder] });
    expect(await findLatestVerifiedBackup({ primary: "primary", drillStart, checkBlobs: true }, deps(all))).toMatchObject({ kind: "noVerifiedBackup", integrityFailed: true, reason: expect.stringContaining(`${older.backup.folder}: its pre-restore hash check failed`) });
    const planned = await findLatestVerifiedBackup({ primary: "primary", drillStart }, deps(all));
    expect(planned).toMatchObject({ kind: "found", folder: newer.backup.folder });
    expect("fallback" in planned).toBe(false);
  });
});

describe("retention after a failed re-verification", () => {
  /** Manifest metadata as verifyBackup leaves it: passed (verified mark renewed) or failed (verified mark removed). */
  const metadata = (folder: string, completedAt: string, result: "passed" | "failed"): Record<string, string> => {
    const at = "2026-12-06T03:30:00.000Z";
    const base: Record<string, string> = { hsmname: "primary", folder, jobid: "j", completedat: completedAt, [manifestMacKeys.record]: recordMac(auth, { hsmName: "primary", folder, jobId: "j", completedAt }) };
    const reverified = { reverifiedat: at, reverifyresult: result, [manifestMacKeys.reverified]: reverifiedMac(auth, folder, at, result) };
    return result === "passed" ? { ...base, verifiedat: at, [manifestMacKeys.verified]: verifiedMac(auth, folder, at), ...reverified } : { ...base, verifyfailedat: at, ...reverified };
  };
  const listing = (folder: string, completedAt: string, result: "passed" | "failed") => {
    const r = authenticatedRecord(`manifests/${folder}.json`, metadata(folder, completedAt, result), auth);
    if (typeof r === "string") throw new Error(r);
    return r.record;
  };

  it("never treats the failed backup as the newest verified one: the newest that passed keeps that slot", () => {
    const good = listing("mhsm-primary-2026120402000000", "2026-12-04T02:05:00.000Z", "passed");
    const bad = listing("mhsm-primary-2026120502000000", "2026-12-05T02:05:00.000Z", "failed");
    expect(bad).toMatchObject({ verified: false, reverification: { passed: false } });
    expect(good).toMatchObject({ verified: true, reverification: { passed: true } });
    const plan = planRetention([bad, good], { daily: 0, weekly: 0, monthly: 0 }, new Date("2026-12-06T04:00:00Z"));
    expect(plan.keep.find((k) => k.folder === good.folder)?.reasons).toContain("newest verified backup");
    expect(plan.keep.find((k) => k.folder === bad.folder)?.reasons).not.toContain("newest verified backup");
  });
});

describe("status attention for re-verification (backupAttention, shared by status and the fleet page)", () => {
  const now = new Date("2026-12-06T12:00:00Z");
  const view = (o: Partial<HsmBackupView>): HsmBackupView => ({
    hsm: "primary",
    backups: [],
    lastVerified: { folder: "mhsm-primary-2026120602000000", completedAt: "2026-12-06T02:05:00Z" } as HsmBackupView["lastVerified"],
    rpoNowMs: 3_600_000,
    rpoTargetMs: 26 * 3_600_000,
    rpoMet: true,
    lastReverification: { folder: "mhsm-primary-2026120602000000", at: "2026-12-06T03:30:00Z", passed: true },
    reverifyFailed: [],
    ...o,
  });

  it("names each backup whose re-verification failed, with the fix, even while a verified backup meets the RPO", () => {
    const items = backupAttention(view({ reverifyFailed: [{ folder: FOLDER, at: "2026-12-06T03:30:00Z" }] }), "0 30 3 * * *", now);
    expect(items).toHaveLength(1);
    expect(items[0]).toMatch(new RegExp(`^primary: backup ${FOLDER} failed re-verification at 2026-12-06T03:30:00Z .*Fix: `));
  });

  it("flags an overdue re-verification and is quiet when it ran on schedule", () => {
    expect(backupAttention(view({}), "0 30 3 * * *", now)).toEqual([]);
    const overdue = backupAttention(view({ lastReverification: { folder: FOLDER, at: "2026-12-03T03:30:00Z", passed: true } }), "0 30 3 * * *", now);
    expect(overdue).toEqual([expect.stringMatching(/last re-verification of primary's backups ran at 2026-12-03T03:30:00Z/)]);
  });
});
