/**
 * The set retention must keep, computed independently of shared/backup/planRetention (so a bug there cannot hide
 * itself): the newest verified backup, pinned ones, and the newest of each of the `daily` newest UTC days,
 * `weekly` newest ISO weeks and `monthly` newest months that have a verified backup.
 */
const DAY = 86_400_000;

export interface VerifiedBackupFact {
  folder: string;
  completedAt: string;
}

/** ISO week by the "Thursday decides the year" rule. */
export function isoWeekOf(iso: string): string {
  const d = new Date(iso);
  const thursday = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 3 - ((d.getUTCDay() + 6) % 7)));
  const jan4 = new Date(Date.UTC(thursday.getUTCFullYear(), 0, 4));
  const week1Monday = Date.UTC(jan4.getUTCFullYear(), 0, 4 - ((jan4.getUTCDay() + 6) % 7));
  return `${thursday.getUTCFullYear()}-W${Math.floor((thursday.getTime() - week1Monday) / (7 * DAY)) + 1}`;
}

export function expectedRetention(all: readonly VerifiedBackupFact[], policy: { daily: number; weekly: number; monthly: number }, pinned: readonly string[] = []): Set<string> {
  const newestFirst = [...all].sort((a, b) => Date.parse(b.completedAt) - Date.parse(a.completedAt));
  const keep = new Set<string>(pinned);
  if (newestFirst[0] !== undefined) keep.add(newestFirst[0].folder);
  const slots: Array<[number, (iso: string) => string]> = [
    [policy.daily, (iso) => iso.slice(0, 10)],
    [policy.weekly, isoWeekOf],
    [policy.monthly, (iso) => iso.slice(0, 7)],
  ];
  for (const [count, periodOf] of slots) {
    const periods = new Set<string>();
    for (const b of newestFirst) {
      const p = periodOf(b.completedAt);
      if (periods.has(p)) continue;
      if (periods.size === count) break;
      periods.add(p);
      keep.add(b.folder);
    }
  }
  return keep;
}
