/**
 * Backup retention (grandfather-father-son), pure and deterministic: the caller passes `now`.
 *
 * Rules, per HSM, applied to every backup:
 * 1. pinned → kept;
 * 2. the newest verified backup → kept;
 * 3. the newest verified backup of each of the N newest days, M newest ISO weeks and K newest months
 *    that have a verified backup (UTC calendar; counted over periods that HAVE backups, as restic and
 *    borg do, so a pause in backups never ages everything out) → kept;
 * 4. no newer verified backup exists (e.g. it is newer than the newest verified one) → kept;
 * 5. completed after `now` (clock skew) → kept;
 * 6. referenced by a running drill (`referencedUntil` after `now`) → kept;
 * otherwise deleted. Unverified backups never fill a daily/weekly/monthly slot: a backup that failed
 * verification must not displace one that passed.
 */
export interface RetentionPolicy {
  daily: number;
  weekly: number;
  monthly: number;
}

export interface BackupRecord {
  hsmName: string;
  folder: string;
  /** ISO time the backup job completed. */
  completedAt: string;
  verified: boolean;
  pinned: boolean;
  /** ISO time until which a running drill holds this backup (its hold blob, see backupHolds). */
  referencedUntil?: string;
}

export interface KeptBackup {
  hsmName: string;
  folder: string;
  completedAt: string;
  reasons: string[];
}

export interface DeletedBackup {
  hsmName: string;
  folder: string;
  completedAt: string;
  reason: string;
}

export interface RetentionPlan {
  now: string;
  policy: RetentionPolicy;
  keep: KeptBackup[];
  delete: DeletedBackup[];
}

export function planRetention(records: readonly BackupRecord[], policy: RetentionPolicy, now: Date): RetentionPlan {
  for (const [name, n] of Object.entries(policy)) {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`Retention ${name} must be a non-negative integer, got ${String(n)}.`);
  }
  const nowMs = now.getTime();
  if (Number.isNaN(nowMs)) throw new RangeError("planRetention needs a valid `now`.");
  const byHsm = new Map<string, BackupRecord[]>();
  const seen = new Set<string>();
  for (const r of records) {
    const ms = Date.parse(r.completedAt);
    if (Number.isNaN(ms)) throw new RangeError(`Backup ${r.folder} has no valid completedAt ('${r.completedAt}').`);
    const id = `${r.hsmName}\u0000${r.folder}`;
    if (seen.has(id)) throw new RangeError(`Backup ${r.folder} of ${r.hsmName} is listed twice.`);
    seen.add(id);
    const list = byHsm.get(r.hsmName) ?? [];
    list.push(r);
    byHsm.set(r.hsmName, list);
  }

  const keep: KeptBackup[] = [];
  const del: DeletedBackup[] = [];
  for (const [, list] of [...byHsm].sort(([a], [b]) => compare(a, b))) {
    // Newest first; the folder name breaks ties so the order never depends on the input order.
    const sorted = [...list].sort((a, b) => Date.parse(b.completedAt) - Date.parse(a.completedAt) || compare(b.folder, a.folder));
    const verified = sorted.filter((r) => r.verified);
    const newestVerified = verified[0];
    const reasons = new Map<BackupRecord, string[]>(sorted.map((r) => [r, []]));
    const slot = (count: number, label: string, periodOf: (ms: number) => string): void => {
      const periods: string[] = [];
      for (const r of verified) {
        const period = periodOf(Date.parse(r.completedAt));
        if (periods.includes(period)) continue;
        if (periods.length >= count) break;
        periods.push(period);
        reasons.get(r)?.push(`${label} ${period} (${periods.length} of ${count})`);
      }
    };
    slot(policy.daily, "daily", dayOf);
    slot(policy.weekly, "weekly", isoWeekOf);
    slot(policy.monthly, "monthly", monthOf);

    sorted.forEach((r, index) => {
      const ms = Date.parse(r.completedAt);
      const why: string[] = [];
      if (r.pinned) why.push("pinned");
      if (r === newestVerified) why.push("newest verified backup");
      why.push(...(reasons.get(r) ?? []));
      // "Newer" is the position in the newest-first order, so equal timestamps are decided by the folder name.
      if (!sorted.slice(0, index).some((v) => v.verified)) why.push("no newer verified backup exists");
      if (ms > nowMs) why.push("completed after now (clock skew)");
      if (r.referencedUntil !== undefined && Date.parse(r.referencedUntil) > nowMs) why.push(`referenced by a running drill until ${r.referencedUntil}`);
      if (why.length > 0) {
        keep.push({ hsmName: r.hsmName, folder: r.folder, completedAt: r.completedAt, reasons: why });
      } else {
        const age = Math.floor((nowMs - ms) / 86_400_000);
        del.push({
          hsmName: r.hsmName,
          folder: r.folder,
          completedAt: r.completedAt,
          reason: `${r.verified ? "verified" : "unverified"}, ${age} days old, in none of the ${policy.daily} daily / ${policy.weekly} weekly / ${policy.monthly} monthly slots; newer verified backup ${newestVerified?.folder ?? "?"} exists`,
        });
      }
    });
  }
  return { now: now.toISOString(), policy: { ...policy }, keep, delete: del };
}

function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function monthOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

/** ISO 8601 week (weeks start on Monday; week 1 holds the year's first Thursday), UTC: `2026-W48`. */
export function isoWeekOf(ms: number): string {
  const d = new Date(ms);
  const day = (d.getUTCDay() + 6) % 7; // Monday = 0
  const thursday = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day + 3);
  const year = new Date(thursday).getUTCFullYear();
  const week = Math.floor((thursday - Date.UTC(year, 0, 1)) / (7 * 86_400_000)) + 1;
  return `${year}-W${String(week).padStart(2, "0")}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
