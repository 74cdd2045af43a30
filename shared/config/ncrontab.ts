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
