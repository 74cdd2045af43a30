import { listBackupRecords, type BackupListing } from "../backup/listBackupRecords";
import { manifestAuthenticator } from "../backup/manifestAuthenticator";
import type { FleetContext } from "./fleetContext";
import { errorText } from "../errors/errorText";

export interface HsmBackupView {
  hsm: string;
  /** Every backup with a manifest, newest first (metadata only: one list call, no downloads). */
  backups: BackupListing[];
  lastVerified: BackupListing | null;
  /** now − the newest verified backup's completion; null when there is none. */
  rpoNowMs: number | null;
  rpoTargetMs: number;
  rpoMet: boolean;
  /** The newest re-verification record over the HSM's backups (authenticated when the key is set); null: none yet. */
  lastReverification: { folder: string; at: string; passed: boolean } | null;
  /** Backups whose last re-verification failed (unverified since; a person must look). */
  reverifyFailed: Array<{ folder: string; at: string }>;
  error?: string;
}

/** Per primary HSM (drill targets are never backed up by the workflow), as the backup identity reads it. */
export async function backupView(ctx: FleetContext, filter: { hsm?: string } = {}): Promise<HsmBackupView[]> {
  const primaries = ctx.settings.hsms.filter((h) => h.role === "primary" && (filter.hsm === undefined || h.name === filter.hsm));
  const container = ctx.container("backup", ctx.settings.storage.backupContainer);
  const rpoTargetMs = ctx.settings.objectives.rpoMs;
  return Promise.all(
    primaries.map(async (h): Promise<HsmBackupView> => {
      try {
        // With the key, the view shows only what retention and drills would trust.
        const key = ctx.settings.storage.manifestKey;
        const backups = await listBackupRecords(container, h.name, key === undefined ? {} : { auth: manifestAuthenticator(key) });
        // Records completed after `now` (an --at in the past) are not yet a recovery point at that instant.
        const lastVerified = backups.find((b) => b.verified && Date.parse(b.completedAt) <= ctx.now.getTime()) ?? null;
        const rpoNowMs = lastVerified === null ? null : ctx.now.getTime() - Date.parse(lastVerified.completedAt);
        let lastReverification: HsmBackupView["lastReverification"] = null;
        for (const b of backups) {
          const r = b.reverification;
          if (r !== undefined && (lastReverification === null || Date.parse(r.at) > Date.parse(lastReverification.at))) lastReverification = { folder: b.folder, ...r };
        }
        const reverifyFailed = backups.filter((b) => b.reverification?.passed === false && b.retiring !== true).map((b) => ({ folder: b.folder, at: b.reverification!.at }));
        return { hsm: h.name, backups, lastVerified, rpoNowMs, rpoTargetMs, rpoMet: rpoNowMs !== null && rpoNowMs <= rpoTargetMs, lastReverification, reverifyFailed };
      } catch (e) {
        return { hsm: h.name, backups: [], lastVerified: null, rpoNowMs: null, rpoTargetMs, rpoMet: false, lastReverification: null, reverifyFailed: [], error: errorText(e) };
      }
    }),
  );
}
