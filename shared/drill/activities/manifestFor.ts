import type { BackupManifest } from "../../backup/backupManifest";
import { toLifecycleError } from "../../errors/fromRestError";
import { LifecycleError } from "../../errors/lifecycleError";
import type { DrillDeps } from "./deps";

/** The verified manifest of `folder` (re-read from storage, so the orchestration never carries the inventory). */
export async function drillManifestFor(deps: Pick<DrillDeps, "backups" | "log">, primary: string, folder: string): Promise<BackupManifest> {
  let found;
  try {
    found = await deps.backups.getBackup(primary, folder, deps.log);
  } catch (e) {
    throw toLifecycleError(e, { service: "storage", operation: "read the backup manifest", resource: `${primary}/${folder}` });
  }
  if (found === undefined || !found.verified || found.manifest.hsm.name !== primary || found.manifest.backup.folder !== folder) {
    throw new LifecycleError("NoVerifiedBackup", `The backup ${folder} of "${primary}" has no verified manifest any more (deleted by retention, or never verified). Fix: rerun the drill; it picks the newest verified backup.`);
  }
  return found.manifest;
}
