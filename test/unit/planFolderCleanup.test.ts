import { describe, expect, it } from "vitest";
import { planFolderCleanup } from "../../shared/backup/planFolderCleanup";

const now = new Date("2026-12-06T03:00:00Z");

describe("planFolderCleanup (folders without a manifest: DR self-backups, leftovers)", () => {
  it("keeps the newest per HSM and anything younger than the window; deletes the rest, with reasons", () => {
    const plan = planFolderCleanup(
      [
        "mhsm-dr-2026110104000012", // old DR self-backup
        "mhsm-dr-2026112904000034", // old, but within 7 days? no: 7 days before is 2026-11-29T03:00 → within
        "mhsm-dr-2026120604000056", // newest of dr
        "mhsm-primary-2026100102000000", // the only leftover of primary: newest of its HSM
        "mhsm-dr2-20261101040000", // another DR HSM, 14-digit stamp: its newest
        "not-a-backup",
        "mhsm-weird",
      ],
      now,
      7,
    );
    expect(plan.delete).toEqual([{ folder: "mhsm-dr-2026110104000012", reason: "no manifest, older than 7 days, a newer one of dr exists" }]);
    expect(plan.keep.map((k) => k.folder).sort()).toEqual(["mhsm-dr-2026112904000034", "mhsm-dr-2026120604000056", "mhsm-dr2-20261101040000", "mhsm-primary-2026100102000000", "mhsm-weird", "not-a-backup"]);
    expect(plan.keep.find((k) => k.folder === "mhsm-dr-2026112904000034")?.reason).toBe("younger than 7 days");
    expect(plan.keep.find((k) => k.folder === "mhsm-dr-2026120604000056")?.reason).toMatch(/^newest backup without a manifest of dr/);
  });

  it("never deletes the only folder of an HSM, however old", () => {
    expect(planFolderCleanup(["mhsm-dr-2020010100000000"], now, 1).delete).toEqual([]);
  });
});
