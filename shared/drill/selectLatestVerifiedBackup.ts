import type { BackupCandidate } from "./backupCandidate";

/**
 * The newest verified backup of `hsmName` that ended at or before `notAfter` (a backup that ends after the drill
 * started cannot be its recovery point), by the backup job's end time. Unverified backups are never chosen:
 * a backup nobody checked is exactly what a drill must not trust. Undefined when there is none.
 */
export function selectLatestVerifiedBackup(candidates: readonly BackupCandidate[], hsmName: string, notAfter: Date): BackupCandidate | undefined {
  let best: BackupCandidate | undefined;
  let bestEnd = Number.NEGATIVE_INFINITY;
  for (const c of candidates) {
    if (!c.verified || c.manifest.hsm.name !== hsmName) continue;
    const end = Date.parse(c.manifest.backup.endTime);
    if (!Number.isFinite(end) || end > notAfter.getTime()) continue;
    if (end > bestEnd) {
      best = c;
      bestEnd = end;
    }
  }
  return best;
}
