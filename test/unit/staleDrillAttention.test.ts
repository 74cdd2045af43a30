import { describe, expect, it } from "vitest";
import { staleDrillAttention } from "../../shared/fleet/staleDrillAttention";
import { longestScheduleGapMs } from "../../shared/config/ncrontab";

const DAY = 86_400_000;

describe("drill freshness in status", () => {
  it("the longest gap a schedule leaves between runs", () => {
    const from = new Date("2026-11-23T12:00:00Z"); // a Monday
    expect(longestScheduleGapMs("0 0 4 * * 0", from)).toBe(7 * DAY);
    expect(longestScheduleGapMs("0 0 2 * * *", from)).toBe(DAY);
    expect(longestScheduleGapMs("0 0 2 * * 1-5", from)).toBe(3 * DAY); // Friday → Monday
  });

  it("flags a last drill older than the schedule allows (plus a day), naming the age, the schedule and the fix", () => {
    const now = new Date("2026-11-23T12:00:00Z");
    const weekly = "0 0 4 * * 0";
    expect(staleDrillAttention(new Date(now.getTime() - 7 * DAY).toISOString(), weekly, now)).toBeUndefined();
    expect(staleDrillAttention(new Date(now.getTime() - 8 * DAY + 60_000).toISOString(), weekly, now)).toBeUndefined();
    const stale = staleDrillAttention(new Date(now.getTime() - 9 * DAY).toISOString(), weekly, now);
    expect(stale).toMatch(/^the last drill finished 9d 0h 0m 0s ago, but DRILL_SCHEDULE "0 0 4 \* \* 0" runs one at least every 7d 0h 0m 0s\. Fix: check that the function app and its drillTimer are running/);
  });
});
