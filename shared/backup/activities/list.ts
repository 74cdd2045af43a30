import { LifecycleError } from "../../errors/lifecycleError";
import type { BackupDeps } from "../backupDeps";
import { listBackupRecords, type BackupListing } from "../listBackupRecords";

export interface ListBackupsInput {
  /** Only this HSM's backups; all when omitted. */
  hsmName?: string;
}

/**
 * Activity `listBackups`: every backup with a manifest, newest first, with its state (verified, pinned) —
 * what retention plans over and what a restore drill picks its newest verified backup from.
 */
export async function listBackups(input: ListBackupsInput, deps: BackupDeps): Promise<BackupListing[]> {
  const hsmName = input?.hsmName;
  if (hsmName !== undefined && (typeof hsmName !== "string" || hsmName === "")) {
    throw new LifecycleError("BadParameter", `listBackups: hsmName must be a configured HSM name (got ${JSON.stringify(hsmName)}).`);
  }
  return listBackupRecords(deps.backupContainer, hsmName, { auth: deps.manifestAuth });
}
