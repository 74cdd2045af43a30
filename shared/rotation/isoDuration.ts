/**
 * ISO 8601 durations as Key Vault rotation policies use them (`P90D`, `P1Y`, `PT48H`, `P1Y10D`).
 * Integers only (no fractions, no negatives, no sign): that is what the service documents and accepts.
 * Pure; no Date.now.
 */
export interface IsoDuration {
  years: number;
  months: number;
  weeks: number;
  days: number;
  hours: number;
  minutes: number;
  seconds: number;
}

const pattern = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;
const DAY_MS = 86_400_000;

/** Parses `PnYnMnWnDTnHnMnS`; throws a `RangeError` naming the value and the accepted form. */
export function parseIsoDuration(text: string): IsoDuration {
  const m = typeof text === "string" ? pattern.exec(text) : null;
  if (m === null || text === "P" || text.endsWith("T")) {
    throw new RangeError(
      `"${String(text)}" is not an ISO 8601 duration; use whole numbers in the form PnYnMnWnDTnHnMnS, e.g. P90D, P1Y, PT12H.`,
    );
  }
  const n = (i: number): number => (m[i] === undefined ? 0 : Number(m[i]));
  const d: IsoDuration = { years: n(1), months: n(2), weeks: n(3), days: n(4), hours: n(5), minutes: n(6), seconds: n(7) };
  if (Object.values(d).some((v) => !Number.isSafeInteger(v))) {
    throw new RangeError(`"${text}" has a component too large to represent.`);
  }
  return d;
}

export function isIsoDuration(text: string): boolean {
  try {
    parseIsoDuration(text);
    return true;
  } catch {
    return false;
  }
}

/** True when the duration has year or month parts, whose length depends on the calendar. */
export function isCalendarDuration(d: IsoDuration): boolean {
  return d.years > 0 || d.months > 0;
}

/**
 * Adds the duration to an instant in UTC: years and months on the calendar (clamped to the month's last day,
 * as Key Vault and .NET do: Jan 31 + P1M = Feb 28/29), then weeks, days and time exactly.
 */
export function addDuration(at: Date, d: IsoDuration): Date {
  return new Date(shiftMs(at.getTime(), d, 1));
}

/** Subtracts the duration (calendar-aware, clamped like `addDuration`). */
export function subtractDuration(at: Date, d: IsoDuration): Date {
  return new Date(shiftMs(at.getTime(), d, -1));
}

function shiftMs(ms: number, d: IsoDuration, sign: 1 | -1): number {
  let t = ms;
  const totalMonths = d.years * 12 + d.months;
  if (totalMonths !== 0) {
    const date = new Date(t);
    const y = date.getUTCFullYear();
    const mo = date.getUTCMonth() + sign * totalMonths;
    const targetYear = y + Math.floor(mo / 12);
    const targetMonth = ((mo % 12) + 12) % 12;
    const lastDay = new Date(Date.UTC(targetYear, targetMonth + 1, 0)).getUTCDate();
    const day = Math.min(date.getUTCDate(), lastDay);
    t = Date.UTC(
      targetYear,
      targetMonth,
      day,
      date.getUTCHours(),
      date.getUTCMinutes(),
      date.getUTCSeconds(),
      date.getUTCMilliseconds(),
    );
  }
  return t + sign * fixedMs(d);
}

/** Milliseconds of the weeks..seconds part (exact). */
function fixedMs(d: IsoDuration): number {
  return (((d.weeks * 7 + d.days) * 24 + d.hours) * 60 + d.minutes) * 60_000 + d.seconds * 1000;
}

/**
 * The shortest length the duration can have (a month counts as 28 days, a year as 365): used to check
 * service minimums, so a policy passes only if it satisfies the limit in every month of the year.
 */
export function minimumMs(d: IsoDuration): number {
  return (d.years * 365 + d.months * 28) * DAY_MS + fixedMs(d);
}

/** The longest length the duration can have (a month counts as 31 days, a year as 366). */
export function maximumMs(d: IsoDuration): number {
  return (d.years * 366 + d.months * 31) * DAY_MS + fixedMs(d);
}

/** Exact milliseconds of a duration without years or months; throws if it has them. */
export function exactMs(d: IsoDuration, label = "duration"): number {
  if (isCalendarDuration(d)) {
    throw new RangeError(`${label} must not use years or months (their length varies); use days, e.g. P30D.`);
  }
  return fixedMs(d);
}

/** Canonical text: weeks folded into days (`P1W2D` → `P9D`), zero parts dropped, `PT0S` for zero. */
export function formatIsoDuration(d: IsoDuration): string {
  const days = d.weeks * 7 + d.days;
  let date = "";
  if (d.years) date += `${d.years}Y`;
  if (d.months) date += `${d.months}M`;
  if (days) date += `${days}D`;
  let time = "";
  if (d.hours) time += `${d.hours}H`;
  if (d.minutes) time += `${d.minutes}M`;
  if (d.seconds) time += `${d.seconds}S`;
  if (!date && !time) return "PT0S";
  return `P${date}${time ? `T${time}` : ""}`;
}

export const DAY_IN_MS = DAY_MS;
