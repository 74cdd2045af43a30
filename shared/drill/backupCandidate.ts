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
  /**
   * Marks the backup as used by `by` until `until`, so retention keeps it meanwhile. false when retention has
   * already started deleting it (the caller picks another). Optional: a source without retention needs none.
   */
  reference?(hsmName: string, folder: string, by: string, until: Date): Promise<boolean>;
  /**
   * The pre-restore hash check: the backup's blobs re-listed and re-hashed against its manifest. Why they do not
   * match, or undefined when they do. Optional: a source that cannot read the blobs offers none.
   */
  blobProblem?(candidate: BackupCandidate): Promise<string | undefined>;
  /** The primary's authenticated backups that are NOT verified, and why (for the drill's fallback report). */
  unverifiedBackups?(hsmName: string): Promise<UnverifiedBackup[]>;
}

export interface UnverifiedBackup {
  folder: string;
  completedAt: string;
  reason: string;
}
