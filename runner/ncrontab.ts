import { CronExpressionParser } from 'cron-parser';

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
  const restricted = (f: string): boolean => f !== '*' && f !== '?';
  const andDays = restricted(fields[3] as string) && restricted(fields[5] as string);
  let probe;
  try {
    probe = CronExpressionParser.parse(expression, { tz: timeZone });
  } catch (err) {
    throw new Error(`Timer schedule "${expression}" is not valid NCRONTAB: ${(err as Error).message}.`);
  }
  const daysOfMonth = new Set<number>(probe.fields.dayOfMonth.values as number[]);
  const daysOfWeek = new Set<number>((probe.fields.dayOfWeek.values as number[]).map((d) => d % 7));
  const localDay = (d: Date): { dom: number; dow: number } => {
    const parts = new Intl.DateTimeFormat('en-US', { timeZone, day: 'numeric', weekday: 'short' }).formatToParts(d);
    const dom = Number(parts.find((p) => p.type === 'day')?.value);
    const dow = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(parts.find((p) => p.type === 'weekday')?.value ?? '');
    return { dom, dow };
  };
  return {
    expression,
    timeZone,
    next(from: Date): Date {
      const it = CronExpressionParser.parse(expression, { currentDate: from, tz: timeZone });
      // Bounded search: an AND of day and weekday matches at least once in 28 years' worth of candidates.
      for (let i = 0; i < 100_000; i++) {
        const candidate = it.next().toDate();
        if (!andDays) return candidate;
        const { dom, dow } = localDay(candidate);
        if (daysOfMonth.has(dom) && daysOfWeek.has(dow)) return candidate;
      }
      throw new Error(`Timer schedule "${expression}" never fires (its day-of-month and day-of-week never coincide).`);
    },
  };
}
