import { type CronDate, CronExpressionParser } from 'cron-parser';

/** NCrontab's field grammar (its CrontabFieldImpl): `*`, a value or a range, each optionally `/n`, in comma lists; names only for month and weekday. */
const NUMERIC_ITEM = /^(\*|\d+(-\d+)?)(\/\d+)?$/;
const NAMED_ITEM = /^(\*|(\d+|[a-z]{3,})(-(\d+|[a-z]{3,}))?)(\/\d+)?$/i;
const FIELD_NAMES = ['second', 'minute', 'hour', 'day', 'month', 'day-of-week'];
/** Any day and weekday that ever coincide do so within one 400-year Gregorian cycle. */
const GREGORIAN_CYCLE_MS = 146_097 * 86_400_000;

export interface NcrontabSchedule {
  expression: string;
  timeZone: string;
  /** The first occurrence strictly after `from`. */
  next(from: Date): Date;
}

/**
 * Parses a 6-field NCRONTAB expression (`{second} {minute} {hour} {day} {month} {day-of-week}`) as the
 * Functions timer trigger does. NCRONTAB ANDs day-of-month with day-of-week when both are restricted
 * (NCrontab `CrontabSchedule`), whereas cron-parser ORs them like Vixie cron, so candidates are filtered.
 */
export function parseNcrontab(expression: string, timeZone = 'UTC'): NcrontabSchedule {
  const fields = expression.trim().split(/\s+/);
  if (fields.length === 5) {
    throw new Error(`Timer schedule "${expression}" has 5 fields, but Azure Functions uses 6-field NCRONTAB with seconds first: write "0 ${expression}" to fire at second 0.`);
  }
  if (fields.length !== 6) {
    throw new Error(`Timer schedule "${expression}" has ${fields.length} fields; Azure Functions expects 6-field NCRONTAB "{second} {minute} {hour} {day} {month} {day-of-week}", e.g. "0 0 2 * * *".`);
  }
  // cron-parser also reads Quartz/Jenkins forms (L, W, #, ?, H) and weekday 7, which the host's NCrontab refuses.
  for (const [i, field] of fields.entries()) {
    const bad = field.split(',').find((part) => !(i >= 4 ? NAMED_ITEM : NUMERIC_ITEM).test(part));
    if (bad !== undefined) throw new Error(`Timer schedule "${expression}" has "${bad}" in its ${FIELD_NAMES[i]} field, which NCRONTAB does not accept: use *, a value, a range (1-5) or a step (*/5), comma-separated.`);
  }
  if (((fields[5] as string).replace(/\/\d+/g, '').match(/\d+/g) ?? []).some((n) => Number(n) > 6)) {
    throw new Error(`Timer schedule "${expression}" has day-of-week "${fields[5]}"; NCRONTAB days of week run 0-6 with Sunday = 0.`);
  }
  let probe;
  try {
    probe = CronExpressionParser.parse(expression, { tz: timeZone });
  } catch (err) {
    throw new Error(`Timer schedule "${expression}" is not valid NCRONTAB: ${(err as Error).message}.`);
  }
  const daysOfMonth = new Set<number>(probe.fields.dayOfMonth.values as number[]);
  const daysOfWeek = new Set<number>((probe.fields.dayOfWeek.values as number[]).map((d) => d % 7));
  return {
    expression,
    timeZone,
    next(from: Date): Date {
      const limit = from.getTime() + GREGORIAN_CYCLE_MS;
      let after: Date | CronDate = from;
      for (;;) {
        const candidate = CronExpressionParser.parse(expression, { currentDate: after, tz: timeZone }).next();
        // CronDate reads the day in the schedule's time zone; every day field of `*` holds every value.
        if (daysOfMonth.has(candidate.getDate()) && daysOfWeek.has(candidate.getDay())) return candidate.toDate();
        if (candidate.getTime() > limit) throw new Error(`Timer schedule "${expression}" never fires (its day-of-month and day-of-week never coincide).`);
        // As NCrontab does, a day that fails the weekday test is skipped whole (a per-second schedule would otherwise walk it).
        candidate.setEndOfDay();
        after = candidate;
      }
    },
  };
}
