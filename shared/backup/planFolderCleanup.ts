/** A folder in the backup container that no manifest describes, and what cleanup decided for it. */
export interface FolderDecision {
  folder: string;
  reason: string;
}

export interface FolderCleanupPlan {
  keep: FolderDecision[];
  delete: FolderDecision[];
}

const FOLDER = /^mhsm-(.+)-(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?$/;

/**
 * Folders without a manifest: DR self-backups (each drill backs its DR HSM up before the restore) and
 * leftovers of primary backups whose manifest was never written. Pure; the caller passes `now`. Per HSM (the
 * name in the folder): the newest is kept (a DR HSM's way back from its latest drill); any created within
 * `keepDays` is kept (a job or a drill may still write or use it); older ones are deleted. A folder whose name
 * carries no backup timestamp is kept: it is not a backup this app or an HSM made. A folder a running backup holds
 * (`running`, see runningBackupHolds) is kept whatever its age.
 */
export function planFolderCleanup(folders: readonly string[], now: Date, keepDays: number, running: ReadonlyArray<{ hsmName: string; since: string; referencedBy: string }> = []): FolderCleanupPlan {
  const keep: FolderDecision[] = [];
  const del: FolderDecision[] = [];
  const byHsm = new Map<string, { folder: string; at: number }[]>();
  for (const folder of [...new Set(folders)].sort()) {
    const m = FOLDER.exec(folder);
    const at = m === null ? Number.NaN : Date.UTC(Number(m[2]), Number(m[3]) - 1, Number(m[4]), Number(m[5]), Number(m[6]), Number(m[7]));
    if (m === null || Number.isNaN(at)) {
      keep.push({ folder, reason: "not a backup folder name (mhsm-<hsm>-<timestamp>)" });
      continue;
    }
    const list = byHsm.get(m[1]!) ?? [];
    list.push({ folder, at });
    byHsm.set(m[1]!, list);
  }
  const cutoff = now.getTime() - keepDays * 86_400_000;
  for (const [hsm, list] of [...byHsm].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    list.sort((a, b) => b.at - a.at || (a.folder < b.folder ? 1 : -1));
    list.forEach((f, i) => {
      // A running backup holds every folder of its HSM created since its start (the job's folder, not yet manifested).
      const holder = running.find((r) => r.hsmName.toLowerCase() === hsm.toLowerCase() && f.at >= Date.parse(r.since));
      if (holder !== undefined) keep.push({ folder: f.folder, reason: `held by the running backup ${holder.referencedBy} until its manifest is written` });
      else if (i === 0) keep.push({ folder: f.folder, reason: `newest backup without a manifest of ${hsm} (a DR HSM's way back from its latest drill)` });
      else if (f.at >= cutoff) keep.push({ folder: f.folder, reason: `younger than ${keepDays} days` });
      else del.push({ folder: f.folder, reason: `no manifest, older than ${keepDays} days, a newer one of ${hsm} exists` });
    });
  }
  return { keep, delete: del };
}
