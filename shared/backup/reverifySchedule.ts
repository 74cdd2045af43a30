import { longestScheduleGapMs, nextScheduledRun } from "../config/ncrontab";

/** The next firing of BACKUP_REVERIFY_SCHEDULE after `now` (ISO, UTC). */
export function nextReverification(schedule: string, now: Date): string {
  return nextScheduledRun(schedule, now).toISOString();
}

/**
 * Why the HSM's backups count as not re-verified on schedule, or undefined: the last re-verification (or, before
 * the first, the oldest backup) is older than the longest gap BACKUP_REVERIFY_SCHEDULE allows plus a day for a
 * long run, so the re-verification timer did not fire. Pure; the caller passes `now`.
 */
export function staleReverification(hsm: string, last: string | null, oldestBackup: string | null, schedule: string, now: Date): string | undefined {
  const since = last ?? oldestBackup;
  if (since === null) return undefined;
  const allowedMs = longestScheduleGapMs(schedule, now) + 86_400_000;
  const ageMs = now.getTime() - Date.parse(since);
  if (!(ageMs > allowedMs)) return undefined;
  const what = last === null ? `no backup of ${hsm} has been re-verified yet, and the oldest completed ${since}` : `the last re-verification of ${hsm}'s backups ran at ${last}`;
  return `${what}, but BACKUP_REVERIFY_SCHEDULE "${schedule}" runs at least every ${Math.round((allowedMs - 86_400_000) / 3_600_000)} h. Fix: check that the function app and its backupReverifyTimer are running.`;
}
