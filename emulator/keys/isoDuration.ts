/**
 * ISO-8601 durations as rotation policies use them ("P90D", "P2M", "P1Y", "PT12H"), in seconds.
 * Months count 30 days and years 365 days, as the service's minimum-interval checks treat them.
 */
const PATTERN = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

export function parseIsoDuration(value: string): number | undefined {
  const m = PATTERN.exec(value);
  if (!m || value === "P" || value.endsWith("T")) return undefined;
  const n = (i: number): number => Number(m[i] ?? 0);
  return ((n(1) * 365 + n(2) * 30 + n(3) * 7 + n(4)) * 24 + n(5)) * 3600 + n(6) * 60 + n(7);
}

export const DAY_SECONDS = 86_400;
