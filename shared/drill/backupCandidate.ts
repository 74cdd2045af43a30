import type { BackupManifest } from "../backup/backupManifest";

/**
 * One backup of a primary as the drill sees it: the (digest-checked) manifest the backup workflow wrote,
 * plus whether the backup workflow verified it (re-listed and re-hashed its blobs). The drill only ever
 * restores verified backups.
 */
export interface BackupCandidate {
  manifest: BackupManifest;
  verified: boolean;
  /** ISO instant of the verification, when verified. */
  verifiedAt?: string;
}

/**
 * Where the drill reads backups from. The backup workflow owns the storage layout; this is the
 * read seam the drill needs from it (`manifests/{folder}.json` + its verified marker).
 */
export interface BackupCandidateSource {
  /** The primary's verified backups (unverified ones may be included with `verified: false`). */
  /** `log` gets one line per manifest ignored because it failed authentication (the calling activity's log). */
  listBackups(hsmName: string, log?: (line: string) => void): Promise<BackupCandidate[]>;
  /** One backup by folder, or undefined when it is gone. */
  getBackup(hsmName: string, folder: string, log?: (line: string) => void): Promise<BackupCandidate | undefined>;
}
