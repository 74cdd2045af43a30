import { type CronDate, CronExpressionParser } from "cron-parser";

// The Functions timer trigger evaluates schedules with NCrontab (github.com/atifaziz/NCrontab). Its
// CrontabSchedule.TryGetNextOccurrence (NCrontab/CrontabSchedule.cs) steps second, minute, hour, day and month
// through their own fields, and only then tests the weekday of the date it built:
//
//     if (this.daysOfWeek.Contains((int)nextTime.DayOfWeek))
//     {
//         return nextTime;
//     }
//
//     return TryGetNextOccurrence(new DateTime(year, month, day, 23, 59, 59, 0, baseTime.Kind), endTime);
//
// So a day fires only when it is in the day field AND in the day-of-week field (NCrontab.Tests/CrontabScheduleTests.cs
// pins `[TestCase("01/01/2003 12:00:00", "45 16 1 * Mon", "01/09/2003 16:45:00", false)]`: the next 1st that is a
// Monday, not the next Monday). cron-parser ORs the two fields when both are restricted, as Vixie cron does, so a run
// here is cron-parser's candidate kept only when its day is in both fields; a candidate that fails skips the rest of
// its day, as NCrontab does. All times are UTC, as the app's schedules are.

/** Every weekday lines up with every day and month within one 400-year Gregorian cycle, or never. */
const GREGORIAN_CYCLE_DAYS = 146_097;
const DAY_MS = 86_400_000;

/** NCrontab's field grammar: `*`, a value or a range, each optionally stepped by `/n`, in comma lists; names only for month and day-of-week. */
const NUMERIC_ITEM = /^(\*|\d+(-\d+)?)(\/\d+)?$/;
const NAMED_ITEM = /^(\*|(\d+|[a-z]{3,})(-(\d+|[a-z]{3,}))?)(\/\d+)?$/i;
const FIELD_NAMES = ["second", "minute", "hour", "day", "month", "day-of-week"];

interface DayFields {
  months: ReadonlySet<number>;
  days: ReadonlySet<number>;
  weekdays: ReadonlySet<number>;
}

function dayFields(expression: string): DayFields {
  const { fields } = CronExpressionParser.parse(expression, { tz: "UTC" });
  return {
    months: new Set(fields.month.values as number[]),
    days: new Set(fields.dayOfMonth.values as number[]),
    // cron-parser reads 7 as Sunday too; NCrontab does not (ncrontabProblem rejects it), so fold it for the lookup only.
    weekdays: new Set((fields.dayOfWeek.values as number[]).map((d) => d % 7)),
  };
}

function firesOn(day: Date, f: DayFields): boolean {
  return f.months.has(day.getUTCMonth() + 1) && f.days.has(day.getUTCDate()) && f.weekdays.has(day.getUTCDay());
}

/** Why a field uses syntax cron-parser knows but NCrontab rejects (so the host would not start the timer), or undefined. */
function unsupportedSyntax(fields: string[]): string | undefined {
  for (const [i, field] of fields.entries()) {
    const item = i >= 4 ? NAMED_ITEM : NUMERIC_ITEM;
    const bad = field.split(",").find((part) => !item.test(part));
    if (bad !== undefined) {
      return `has "${bad}" in its ${FIELD_NAMES[i]} field, which NCRONTAB does not accept: use *, a value, a range (1-5) or a step (*/5, 1-31/2), comma-separated; the L, W, #, ? and H forms of other cron dialects are not supported`;
    }
  }
  const weekdayValues = (fields[5] ?? "").replace(/\/\d+/g, "").match(/\d+/g) ?? [];
  if (weekdayValues.some((n) => Number(n) > 6)) {
    return `has day-of-week "${fields[5]}"; NCRONTAB days of week run 0-6 with Sunday = 0 (7 is not accepted)`;
  }
  return undefined;
}

/**
 * Checks an NCRONTAB expression as the Functions timer trigger reads it: exactly six fields
 * `{second} {minute} {hour} {day} {month} {day-of-week}`, evaluated in UTC, with a day firing only when it matches
 * both the day and the day-of-week field. Returns a reason when invalid, undefined when valid.
 */
export function ncrontabProblem(expression: string): string | undefined {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 6) {
    return `has ${fields.length} fields; NCRONTAB needs 6: {second} {minute} {hour} {day} {month} {day-of-week}, e.g. "0 0 2 * * *" for 02:00 UTC daily`;
  }
  const syntax = unsupportedSyntax(fields);
  if (syntax !== undefined) return syntax;
  let f: DayFields;
  try {
    f = dayFields(expression);
  } catch (e) {
    return `is not a valid NCRONTAB expression (${e instanceof Error ? e.message : String(e)})`;
  }
  const start = Date.UTC(2000, 0, 1);
  for (let i = 0; i < GREGORIAN_CYCLE_DAYS; i++) {
    if (firesOn(new Date(start + i * DAY_MS), f)) return undefined;
  }
  return `never fires: no date has day "${fields[3]}" in month "${fields[4]}" on day-of-week "${fields[5]}" (NCRONTAB requires both the day and the day-of-week to match)`;
}

/** The next run of a valid NCRONTAB schedule strictly after `from` (UTC), as the Functions host computes it. */
export function nextScheduledRun(expression: string, from: Date): Date {
  const f = dayFields(expression);
  const limit = from.getTime() + GREGORIAN_CYCLE_DAYS * DAY_MS;
  let after: Date | CronDate = from;
  for (;;) {
    const run = CronExpressionParser.parse(expression, { tz: "UTC", currentDate: after }).next();
    if (firesOn(run.toDate(), f)) return run.toDate();
    if (run.getTime() > limit) throw new Error(`NCRONTAB schedule "${expression}" never fires: its day and day-of-week fields never match the same date.`);
    run.setEndOfDay();
    after = run;
  }
}

/**
 * The longest gap between consecutive runs of a valid NCRONTAB schedule over its next `runs` runs after `from`
 * (UTC): how long a healthy timer may leave between two runs, so anything older means a timer did not fire.
 */
export function longestScheduleGapMs(expression: string, from: Date, runs = 8): number {
  let previous = nextScheduledRun(expression, from);
  let longest = 0;
  for (let i = 1; i < runs; i++) {
    const next = nextScheduledRun(expression, previous);
    longest = Math.max(longest, next.getTime() - previous.getTime());
    previous = next;
  }
  return longest;
}
