import { describe, expect, it } from "vitest";
import { decideRetirement } from "../../shared/rotation/decideRetirement";

const t0 = Date.parse("2026-11-01T00:00:00.000Z");
const DAY = 86_400_000;
const at = (d: number): string => new Date(t0 + d * DAY).toISOString();
const v = (version: string, createdDay: number, enabled = true) => ({ name: "k", version, enabled, createdOn: at(createdDay) });

describe("decideRetirement", () => {
  const versions = [v("v1", 0), v("v2", 10), v("v3", 20)];

  it("disables an old version exactly when the grace period after its successor's creation ends", () => {
    const plan = decideRetirement(versions, "v3", "P2D", new Date(t0 + 22 * DAY));
    expect(plan.disable).toEqual([
      { version: "v1", supersededOn: at(10), dueOn: at(12) },
      { version: "v2", supersededOn: at(20), dueOn: at(22) },
    ]);
    expect(plan.keep).toEqual([{ version: "v3", reason: "current" }]);
    expect(plan.nextDueOn).toBeUndefined();
  });

  it("keeps a version still in its grace period and reports when it becomes due", () => {
    const plan = decideRetirement(versions, "v3", "P2D", new Date(t0 + 22 * DAY - 1));
    expect(plan.disable.map((d) => d.version)).toEqual(["v1"]);
    expect(plan.keep).toContainEqual({ version: "v2", reason: "inGrace", dueOn: at(22) });
    expect(plan.nextDueOn).toBe(at(22));
  });

  it("never disables the current version, even if the listing shows it older than others", () => {
    const plan = decideRetirement([v("v1", 0), v("v2", 10)], "v1", "P1D", new Date(t0 + 365 * DAY));
    expect(plan.disable).toEqual([]);
    expect(plan.keep).toEqual([
      { version: "v1", reason: "current" },
      { version: "v2", reason: "newerThanCurrent" },
    ]);
  });

  it("skips versions already disabled and versions without a creation date", () => {
    const plan = decideRetirement([v("v1", 0, false), { name: "k", version: "v2", enabled: true }, v("v3", 20)], "v3", "P0D", new Date(t0 + 30 * DAY));
    expect(plan.disable).toEqual([]);
    expect(plan.keep).toEqual([
      { version: "v1", reason: "alreadyDisabled" },
      { version: "v2", reason: "unknownAge" },
      { version: "v3", reason: "current" },
    ]);
  });

  it("uses calendar durations for the grace period", () => {
    const plan = decideRetirement([v("a", 0), v("b", 30)], "b", "P1M", new Date(Date.parse("2026-12-31T00:00:00.000Z")));
    // b created 2026-12-01; + P1M = 2027-01-01 > now → still in grace.
    expect(plan.keep).toContainEqual({ version: "a", reason: "inGrace", dueOn: "2027-01-01T00:00:00.000Z" });
  });

  it("has no way to express a purge: the plan only ever lists versions to disable", () => {
    const plan = decideRetirement(versions, "v3", "PT0S", new Date(t0 + 400 * DAY));
    expect(Object.keys(plan).sort()).toEqual(["disable", "keep"]);
    expect(plan.disable.every((d) => d.version !== "v3")).toBe(true);
  });
});
