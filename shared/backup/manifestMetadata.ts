import type { BackupRecord } from "./planRetention";

/**
 * State of a backup kept as metadata on its manifest blob (Azure lower-cases metadata names), so retention
 * and drills learn every backup's state from ONE list call with `includeMetadata`, without downloads.
 * - `verifiedat`: ISO time verification passed; absent = not verified.
 * - `pinned`: "true" keeps the backup forever (set by an operator: `az storage blob metadata update`).
 * - `verifyfailedat`: ISO time a verification failed (the verified mark is removed at the same time).
 * - `retiring`: ISO time retention started deleting it; such a backup is never treated as verified again.
 * - `reverifiedat` / `reverifyresult` ("passed" | "failed") / `reverifiedmac`: the last scheduled re-verification
 *   (see reverifyBackup), authenticated like the verified mark.
 * A drill's hold on a backup is NOT kept here but in a blob of the reports container (see backupHolds).
 */
export const manifestMetadataKeys = {
  hsmName: "hsmname",
  folder: "folder",
  jobId: "jobid",
  completedAt: "completedat",
  verifiedAt: "verifiedat",
  pinned: "pinned",
  verifyFailedAt: "verifyfailedat",
  retiring: "retiring",
  reverifiedAt: "reverifiedat",
  reverifyResult: "reverifyresult",
} as const;

/** The retention view of a manifest blob, or undefined when its metadata lacks the backup's identity. */
export function backupRecordFromMetadata(metadata: Record<string, string> | undefined): (BackupRecord & { jobId?: string; verifiedAt?: string; retiring?: true }) | undefined {
  const m = lowerCaseKeys(metadata ?? {});
  const hsmName = m[manifestMetadataKeys.hsmName];
  const folder = m[manifestMetadataKeys.folder];
  const completedAt = m[manifestMetadataKeys.completedAt];
  if (!hsmName || !folder || !completedAt) return undefined;
  const verifiedAt = m[manifestMetadataKeys.verifiedAt];
  const retiring = m[manifestMetadataKeys.retiring];
  const record: BackupRecord & { jobId?: string; verifiedAt?: string; retiring?: true } = {
    hsmName,
    folder,
    completedAt,
    verified: verifiedAt !== undefined && verifiedAt !== "" && !retiring,
    pinned: (m[manifestMetadataKeys.pinned] ?? "").toLowerCase() === "true",
  };
  const jobId = m[manifestMetadataKeys.jobId];
  if (jobId) record.jobId = jobId;
  if (record.verified && verifiedAt) record.verifiedAt = verifiedAt;
  if (retiring) record.retiring = true;
  return record;
}

function lowerCaseKeys(metadata: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k.toLowerCase(), v]));
}
