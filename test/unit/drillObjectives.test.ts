import { describe, expect, it } from "vitest";
import { formatDuration, measureObjectives } from "../../shared/drill/measureObjectives";
import { selectLatestVerifiedBackup } from "../../shared/drill/selectLatestVerifiedBackup";
import type { BackupCandidate } from "../../shared/drill/backupCandidate";
import type { BackupManifest } from "../../shared/backup/backupManifest";

const targets = { rpoMs: 26 * 3_600_000, rtoMs: 4 * 3_600_000 };

describe("measureObjectives", () => {
  it("RPO = drill start − backup end; RTO = restore start → verification done", () => {
    const o = measureObjectives(
      { drillStart: "2026-11-23T03:00:00Z", backupEnd: "2026-11-22T01:30:00Z", restoreStart: "2026-11-23T03:05:00Z", verificationDone: "2026-11-23T03:25:30.250Z" },
      targets,
    );
    expect(o.rpoMs).toBe(25.5 * 3_600_000);
    expect(o.rtoMs).toBe(20 * 60_000 + 30_250);
    expect(o).toMatchObject({ rpoMet: true, rtoMet: true, breaches: [] });
  });

  it("a breach of either target is reported with the setting to look at", () => {
    const o = measureObjectives(
      { drillStart: "2026-11-23T03:00:00Z", backupEnd: "2026-11-21T00:00:00Z", restoreStart: "2026-11-23T03:00:00Z", verificationDone: "2026-11-23T08:00:00Z" },
      targets,
    );
    expect(o.rpoMet).toBe(false);
    expect(o.rtoMet).toBe(false);
    expect(o.breaches[0]).toMatch(/^RPO 2d 3h 0m 0s exceeds the target 1d 2h 0m 0s \(RPO_TARGET\)/);
    expect(o.breaches[1]).toMatch(/^RTO 5h 0m 0s exceeds the target 4h 0m 0s \(RTO_TARGET\)/);
  });

  it("exactly on target is met", () => {
    const o = measureObjectives({ drillStart: "2026-11-23T00:00:00Z", backupEnd: "2026-11-22T00:00:00Z", restoreStart: "2026-11-23T00:00:00Z", verificationDone: "2026-11-23T04:00:00Z" }, { rpoMs: 86_400_000, rtoMs: 4 * 3_600_000 });
    expect([o.rpoMet, o.rtoMet]).toEqual([true, true]);
  });

  it("rejects instants out of order and non-instants", () => {
    expect(() => measureObjectives({ drillStart: "2026-11-23T00:00:00Z", backupEnd: "2026-11-23T01:00:00Z", restoreStart: "2026-11-23T02:00:00Z", verificationDone: "2026-11-23T03:00:00Z" }, targets)).toThrow(/after the drill started/);
    expect(() => measureObjectives({ drillStart: "2026-11-23T05:00:00Z", backupEnd: "2026-11-23T01:00:00Z", restoreStart: "2026-11-23T04:00:00Z", verificationDone: "2026-11-23T03:00:00Z" }, targets)).toThrow(/before the restore started/);
    expect(() => measureObjectives({ drillStart: "yesterday", backupEnd: "2026-11-23T01:00:00Z", restoreStart: "2026-11-23T04:00:00Z", verificationDone: "2026-11-23T05:00:00Z" }, targets)).toThrow(/drillStart "yesterday"/);
  });

  it("formats durations for people", () => {
    expect(formatDuration(1_500)).toBe("1.5s");
    expect(formatDuration(61_000)).toBe("1m 1s");
    expect(formatDuration(3_600_000)).toBe("1h 0m 0s");
  });
});

function candidate(hsm: string, folder: string, endTime: string, verified: boolean): BackupCandidate {
  const manifest = { hsm: { name: hsm, url: "https://p" }, backup: { folder, folderUrl: `https://s/c/${folder}`, containerUrl: "https://s/c", jobId: folder, startTime: endTime, endTime }, keys: [] } as unknown as BackupManifest;
  return { manifest, verified };
}

describe("selectLatestVerifiedBackup", () => {
  const all = [
    candidate("primary", "a", "2026-11-20T01:00:00Z", true),
    candidate("primary", "b", "2026-11-22T01:00:00Z", true),
    candidate("primary", "c", "2026-11-22T12:00:00Z", false),
    candidate("other", "d", "2026-11-22T23:00:00Z", true),
    candidate("primary", "e", "2026-11-23T05:00:00Z", true),
  ];
  it("picks the newest verified backup of that HSM that ended before the drill", () => {
    expect(selectLatestVerifiedBackup(all, "primary", new Date("2026-11-23T03:00:00Z"))?.manifest.backup.folder).toBe("b");
    expect(selectLatestVerifiedBackup(all, "primary", new Date("2026-11-23T06:00:00Z"))?.manifest.backup.folder).toBe("e");
  });
  it("never an unverified one, nothing when none qualifies", () => {
    expect(selectLatestVerifiedBackup(all.filter((c) => c.manifest.backup.folder === "c"), "primary", new Date("2026-11-23T03:00:00Z"))).toBeUndefined();
    expect(selectLatestVerifiedBackup(all, "dr", new Date("2026-11-23T03:00:00Z"))).toBeUndefined();
  });
});
