import { CronExpressionParser } from "cron-parser";

/**
 * Checks an NCRONTAB expression as the Functions timer trigger reads it: exactly six fields
 * `{second} {minute} {hour} {day} {month} {day-of-week}`, evaluated in UTC.
 * Returns a reason when invalid, undefined when valid.
 */
export function ncrontabProblem(expression: string): string | undefined {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 6) {
    return `has ${fields.length} fields; NCRONTAB needs 6: {second} {minute} {hour} {day} {month} {day-of-week}, e.g. "0 0 2 * * *" for 02:00 UTC daily`;
  }
  try {
    CronExpressionParser.parse(expression, { tz: "UTC" });
    return undefined;
  } catch (e) {
    return `is not a valid NCRONTAB expression (${e instanceof Error ? e.message : String(e)})`;
  }
}

/**
 * The longest gap between consecutive runs of a valid NCRONTAB schedule over its next `runs` runs after `from`
 * (UTC): how long a healthy timer may leave between two runs, so anything older means a timer did not fire.
 */
export function longestScheduleGapMs(expression: string, from: Date, runs = 8): number {
  const schedule = CronExpressionParser.parse(expression, { tz: "UTC", currentDate: from });
  let previous = schedule.next().getTime();
  let longest = 0;
  for (let i = 1; i < runs; i++) {
    const next = schedule.next().getTime();
    longest = Math.max(longest, next - previous);
    previous = next;
  }
  return longest;
}

/** The next run of a valid NCRONTAB schedule strictly after `from` (UTC). */
export function nextScheduledRun(expression: string, from: Date): Date {
  return CronExpressionParser.parse(expression, { tz: "UTC", currentDate: from }).next().toDate();
}
