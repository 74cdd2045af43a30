import { CronExpressionParser } from "cron-parser";
import { describe, expect, it } from "vitest";
import { longestScheduleGapMs, ncrontabProblem, nextScheduledRun } from "../../shared/config/ncrontab";
import { nextReverification } from "../../shared/backup/reverifySchedule";

const DAY = 86_400_000;
const FIRST_MONDAY = "0 0 3 1-7 * MON";

/** The next `n` runs after `from`, each strictly after the one before. */
function runs(expression: string, from: string, n: number): string[] {
  const out: string[] = [];
  let at = new Date(from);
  for (let i = 0; i < n; i++) {
    at = nextScheduledRun(expression, at);
    out.push(at.toISOString());
  }
  return out;
}

describe("NCRONTAB day and day-of-week, as the Functions host (NCrontab) combines them", () => {
  // NCrontab/CrontabSchedule.cs tests the weekday only after day and month matched, and otherwise retries from
  // 23:59:59 of that day (`if (this.daysOfWeek.Contains((int)nextTime.DayOfWeek)) { return nextTime; }`), so
  // both fields must match. cron-parser alone ORs them, which fired first-Monday schedules on days 1-7 and on every Monday.
  it("fires a first-Monday schedule only on the first Monday of each month", () => {
    expect(runs(FIRST_MONDAY, "2026-12-06T00:00:00Z", 8)).toEqual([
      "2026-12-07T03:00:00.000Z",
      "2027-01-04T03:00:00.000Z",
      "2027-02-01T03:00:00.000Z",
      "2027-03-01T03:00:00.000Z",
      "2027-04-05T03:00:00.000Z",
      "2027-05-03T03:00:00.000Z",
      "2027-06-07T03:00:00.000Z",
      "2027-07-05T03:00:00.000Z",
    ]);
    expect(nextReverification("0 30 3 1-7 * MON", new Date("2026-12-06T00:00:00Z"))).toBe("2026-12-07T03:30:00.000Z");
    // The OR reading cron-parser gives on its own: Sunday the 6th, which the host would not fire on.
    expect(CronExpressionParser.parse(FIRST_MONDAY, { tz: "UTC", currentDate: new Date("2026-12-06T00:00:00Z") }).next().toISOString()).toBe("2026-12-06T03:00:00.000Z");
  });

  it("gives a first-Monday schedule gaps of 28 or 35 days, so its longest gap is 35 days", () => {
    const at = runs(FIRST_MONDAY, "2026-12-06T00:00:00Z", 8).map((s) => Date.parse(s));
    expect(at.slice(1).map((t, i) => (t - (at[i] as number)) / DAY)).toEqual([28, 28, 28, 35, 28, 35, 28]);
    expect(longestScheduleGapMs(FIRST_MONDAY, new Date("2026-12-06T00:00:00Z"))).toBe(35 * DAY);
  });

  it("matches NCrontab's own test cases for the 1st of a month that is a Monday", () => {
    // NCrontab.Tests/CrontabScheduleTests.cs: "45 16 1 * Mon" from 01/01/2003 12:00 -> 01/09/2003 16:45, then -> 01/12/2003 16:45.
    expect(nextScheduledRun("0 45 16 1 * Mon", new Date("2003-01-01T12:00:00Z")).toISOString()).toBe("2003-09-01T16:45:00.000Z");
    expect(nextScheduledRun("0 45 16 1 * Mon", new Date("2003-09-01T23:45:00Z")).toISOString()).toBe("2003-12-01T16:45:00.000Z");
  });

  it("ANDs a day range written out in full too, where cron-parser would fire daily", () => {
    expect(runs("0 0 2 1-31 * MON", "2026-12-06T00:00:00Z", 3)).toEqual(["2026-12-07T02:00:00.000Z", "2026-12-14T02:00:00.000Z", "2026-12-21T02:00:00.000Z"]);
    expect(longestScheduleGapMs("0 0 2 1-31 * MON", new Date("2026-12-06T00:00:00Z"))).toBe(7 * DAY);
  });

  it("fires on a rare coincidence (Monday 29 February) and skips whole days for a per-second schedule", () => {
    expect(nextScheduledRun("0 0 0 29 2 MON", new Date("2026-12-06T00:00:00Z")).toISOString()).toBe("2044-02-29T00:00:00.000Z");
    expect(runs("* * * 1-7 * MON", "2026-12-01T00:00:00Z", 2)).toEqual(["2026-12-07T00:00:00.000Z", "2026-12-07T00:00:01.000Z"]);
  });

  it("leaves schedules with one day field as *, as before", () => {
    expect(runs("0 0 2 * * *", "2026-12-06T02:00:00Z", 2)).toEqual(["2026-12-07T02:00:00.000Z", "2026-12-08T02:00:00.000Z"]);
    expect(longestScheduleGapMs("0 0 2 * * *", new Date("2026-12-06T00:00:00Z"))).toBe(DAY);
    expect(runs("0 0 4 * * 0", "2026-12-06T04:00:00.500Z", 1)).toEqual(["2026-12-13T04:00:00.000Z"]);
    expect(runs("0 0 2 15 * *", "2026-12-06T00:00:00Z", 2)).toEqual(["2026-12-15T02:00:00.000Z", "2027-01-15T02:00:00.000Z"]);
  });
});

describe("ncrontabProblem", () => {
  it("accepts NCRONTAB's forms: values, ranges, steps, lists and month/weekday names", () => {
    for (const ok of [FIRST_MONDAY, "0 */5 * * * *", "0 0 3 * * Mon-Fri", "0 0 3 * Jan,Jul *", "0 0 3 1-31/2 * *", "0 0 0 29 2 MON"]) expect(ncrontabProblem(ok)).toBeUndefined();
  });

  it("rejects forms of other cron dialects that the host would refuse, naming the field", () => {
    expect(ncrontabProblem("0 0 3 * * MON#1")).toMatch(/^has "MON#1" in its day-of-week field, which NCRONTAB does not accept/);
    expect(ncrontabProblem("0 0 3 L * *")).toMatch(/^has "L" in its day field/);
    expect(ncrontabProblem("0 0 3 ? * MON")).toMatch(/^has "\?" in its day field/);
    expect(ncrontabProblem("0 0 3 15W * *")).toMatch(/^has "15W" in its day field/);
    expect(ncrontabProblem("H 0 3 * * *")).toMatch(/^has "H" in its second field/);
    expect(ncrontabProblem("0 0 3 * * 5L")).toMatch(/^has "5L" in its day-of-week field/);
    expect(ncrontabProblem("0 0 3 * * 7")).toBe('has day-of-week "7"; NCRONTAB days of week run 0-6 with Sunday = 0 (7 is not accepted)');
  });

  it("rejects a schedule whose day and day-of-week never meet, and keeps the field-count and range errors", () => {
    expect(ncrontabProblem("0 0 0 30 2 MON")).toBe('never fires: no date has day "30" in month "2" on day-of-week "MON" (NCRONTAB requires both the day and the day-of-week to match)');
    expect(ncrontabProblem("0 0 2 * *")).toMatch(/^has 5 fields; NCRONTAB needs 6/);
    expect(ncrontabProblem("0 0 99 * * *")).toMatch(/^is not a valid NCRONTAB expression/);
  });
});
