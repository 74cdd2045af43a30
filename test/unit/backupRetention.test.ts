import { describe, expect, it } from "vitest";
import { isoWeekOf, planRetention, type BackupRecord } from "../../shared/backup/planRetention";

const DAY = 86_400_000;
const t0 = Date.parse("2026-07-01T02:30:00.000Z"); // a Wednesday
const at = (day: number): string => new Date(t0 + day * DAY).toISOString();
const rec = (day: number, o: Partial<BackupRecord> = {}): BackupRecord => ({
  hsmName: "primary",
  folder: `mhsm-primary-${at(day).replace(/\D/g, "").slice(0, 14)}00`,
  completedAt: at(day),
  verified: true,
  pinned: false,
  ...o,
});
const folders = (list: { folder: string }[]): string[] => list.map((b) => b.folder).sort();

describe("planRetention", () => {
  it("keeps the N newest daily, M weekly and K monthly verified backups and deletes the rest, with reasons", () => {
    // One nightly backup for 120 days (day 0 .. 119).
    const records = Array.from({ length: 120 }, (_, d) => rec(d));
    const plan = planRetention(records, { daily: 7, weekly: 4, monthly: 3 }, new Date(t0 + 119 * DAY + 3_600_000));

    const expectedDays = new Set<number>();
    for (let d = 113; d <= 119; d++) expectedDays.add(d); // 7 newest days
    // Newest backup of each of the 4 newest ISO weeks: every Sunday at or before day 119, and day 119 itself.
    const weekOf = (d: number): string => isoWeekOf(t0 + d * DAY);
    const weeks = new Map<string, number>();
    for (let d = 119; d >= 0; d--) if (!weeks.has(weekOf(d))) weeks.set(weekOf(d), d);
    [...weeks.values()].slice(0, 4).forEach((d) => expectedDays.add(d));
    const months = new Map<string, number>();
    for (let d = 119; d >= 0; d--) if (!months.has(at(d).slice(0, 7))) months.set(at(d).slice(0, 7), d);
    [...months.values()].slice(0, 3).forEach((d) => expectedDays.add(d));

    expect(folders(plan.keep)).toEqual(folders([...expectedDays].map((d) => rec(d))));
    expect(plan.keep.length + plan.delete.length).toBe(120);
    expect(plan.delete.length).toBe(120 - expectedDays.size);
    const newest = plan.keep.find((k) => k.folder === rec(119).folder);
    expect(newest?.reasons).toEqual(expect.arrayContaining(["newest verified backup", expect.stringMatching(/^daily /), expect.stringMatching(/^weekly /), expect.stringMatching(/^monthly /)]));
    for (const d of plan.delete) expect(d.reason).toMatch(/in none of the 7 daily \/ 4 weekly \/ 3 monthly slots; newer verified backup .* exists/);
  });

  it("never deletes a pinned backup, however old", () => {
    const records = [rec(0, { pinned: true }), rec(1), rec(50), rec(100)];
    const plan = planRetention(records, { daily: 1, weekly: 0, monthly: 0 }, new Date(t0 + 101 * DAY));
    expect(folders(plan.keep)).toEqual(folders([rec(0), rec(100)]));
    expect(plan.keep.find((k) => k.folder === rec(0).folder)?.reasons).toEqual(["pinned"]);
    expect(folders(plan.delete)).toEqual(folders([rec(1), rec(50)]));
  });

  it("never deletes a backup a running drill holds, and deletes it once the hold has expired", () => {
    const now = new Date(t0 + 101 * DAY);
    const held = rec(50, { referencedUntil: new Date(now.getTime() + 3_600_000).toISOString() });
    const plan = planRetention([rec(1), held, rec(100)], { daily: 1, weekly: 0, monthly: 0 }, now);
    expect(plan.keep.find((k) => k.folder === held.folder)?.reasons).toEqual([`referenced by a running drill until ${held.referencedUntil}`]);
    expect(folders(plan.delete)).toEqual(folders([rec(1)]));
    const expired = planRetention([rec(1), { ...held, referencedUntil: new Date(now.getTime() - 1).toISOString() }, rec(100)], { daily: 1, weekly: 0, monthly: 0 }, now);
    expect(folders(expired.delete)).toEqual(folders([rec(1), rec(50)]));
  });

  it("never deletes the newest verified backup even with every count at zero, nor anything newer than it", () => {
    const records = [rec(10), rec(20), rec(30, { verified: false }), rec(31, { verified: false })];
    const plan = planRetention(records, { daily: 0, weekly: 0, monthly: 0 }, new Date(t0 + 40 * DAY));
    expect(folders(plan.keep)).toEqual(folders([rec(20), rec(30), rec(31)]));
    expect(plan.keep.find((k) => k.folder === rec(20).folder)?.reasons).toEqual(["newest verified backup", "no newer verified backup exists"]);
    expect(plan.keep.find((k) => k.folder === rec(31).folder)?.reasons).toEqual(["no newer verified backup exists"]);
    expect(folders(plan.delete)).toEqual([rec(10).folder]);
  });

  it("deletes nothing when no backup is verified", () => {
    const records = Array.from({ length: 30 }, (_, d) => rec(d, { verified: false }));
    const plan = planRetention(records, { daily: 1, weekly: 0, monthly: 0 }, new Date(t0 + 60 * DAY));
    expect(plan.delete).toEqual([]);
    expect(plan.keep).toHaveLength(30);
  });

  it("does not let an unverified backup take a daily slot from a verified one", () => {
    // Day 5 has a verified backup at 02:30 and a later unverified one; day 6 only an unverified one.
    const laterSameDay = { ...rec(5, { verified: false }), folder: "mhsm-primary-late", completedAt: new Date(t0 + 5 * DAY + 3_600_000).toISOString() };
    const records = [rec(3), rec(4), rec(5), laterSameDay, rec(6, { verified: false })];
    const plan = planRetention(records, { daily: 2, weekly: 0, monthly: 0 }, new Date(t0 + 7 * DAY));
    expect(folders(plan.keep)).toEqual(folders([rec(4), rec(5), laterSameDay, rec(6)]));
    expect(plan.keep.find((k) => k.folder === rec(4).folder)?.reasons).toEqual([expect.stringMatching(/^daily .* \(2 of 2\)$/)]);
    expect(folders(plan.delete)).toEqual([rec(3).folder]);
  });

  it("plans each HSM on its own", () => {
    const dr = (day: number): BackupRecord => ({ ...rec(day), hsmName: "dr", folder: `mhsm-dr-${day}` });
    const plan = planRetention([rec(1), rec(2), dr(1), dr(2)], { daily: 1, weekly: 0, monthly: 0 }, new Date(t0 + 3 * DAY));
    expect(folders(plan.keep)).toEqual(folders([rec(2), dr(2)]));
    expect(folders(plan.delete)).toEqual(folders([rec(1), dr(1)]));
  });

  it("keeps a backup dated after now (clock skew) and is independent of input order", () => {
    const records = [rec(1), rec(2), rec(3), rec(9)];
    const a = planRetention(records, { daily: 1, weekly: 0, monthly: 0 }, new Date(t0 + 4 * DAY));
    const b = planRetention([...records].reverse(), { daily: 1, weekly: 0, monthly: 0 }, new Date(t0 + 4 * DAY));
    expect(b).toEqual(a);
    expect(folders(a.keep)).toEqual([rec(9).folder]);
    expect(a.keep[0]?.reasons).toContain("completed after now (clock skew)");
  });

  it("rejects bad input instead of planning", () => {
    expect(() => planRetention([rec(1)], { daily: -1, weekly: 0, monthly: 0 }, new Date(t0))).toThrow(/daily must be a non-negative integer/);
    expect(() => planRetention([rec(1, { completedAt: "yesterday" })], { daily: 1, weekly: 0, monthly: 0 }, new Date(t0))).toThrow(/no valid completedAt/);
    expect(() => planRetention([rec(1), rec(1)], { daily: 1, weekly: 0, monthly: 0 }, new Date(t0))).toThrow(/listed twice/);
  });

  it("numbers ISO weeks as ISO 8601 does at year boundaries", () => {
    expect(isoWeekOf(Date.parse("2026-12-31T12:00:00Z"))).toBe("2026-W53");
    expect(isoWeekOf(Date.parse("2027-01-03T12:00:00Z"))).toBe("2026-W53");
    expect(isoWeekOf(Date.parse("2027-01-04T00:00:00Z"))).toBe("2027-W01");
    expect(isoWeekOf(Date.parse("2024-12-30T00:00:00Z"))).toBe("2025-W01");
  });
});
