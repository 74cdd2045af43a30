import type { ContainerClient } from "@azure/storage-blob";
import { storageFailure } from "../storage/storageFailure";
import { folderOfManifestBlob, manifestBlobName, MANIFEST_PREFIX } from "./backupManifest";
import type { ManifestAuthenticator } from "./manifestAuthenticator";
import { backupRecordFromMetadata, manifestMetadataKeys } from "./manifestMetadata";
import { folderHsmName, manifestMacKeys } from "./manifestTrust";
import type { BackupRecord } from "./planRetention";

export type BackupListing = BackupRecord & {
  manifestBlob: string;
  jobId?: string;
  verifiedAt?: string;
  /** Retention has started deleting it. */
  retiring?: true;
  /** The last scheduled re-verification; with `auth`, only a record whose MAC matches. */
  reverification?: Reverification;
};

/** A re-verification record as read from the manifest blob's metadata (see verifyBackup). */
export interface Reverification {
  at: string;
  passed: boolean;
}

/** A manifest blob the listing would not trust, and why (for the log and the audit record). */
export interface IgnoredManifest {
  blob: string;
  reason: string;
}

export interface ListBackupRecordsOptions {
  /**
   * With it, only authenticated backups are listed: the blob name is exactly `manifests/{folder}.json` of a
   * well-formed `mhsm-<hsm>-<timestamp>` folder, the metadata's record MAC matches, and a verified mark counts
   * only with its own MAC. Everything else is ignored and reported through `onIgnored`. Retention and drills
   * always pass it; only the read-only CLI view may list without it.
   */
  auth?: ManifestAuthenticator;
  onIgnored?: (ignored: IgnoredManifest) => void;
}

/**
 * Every backup that has a manifest, with its state, from ONE list call over `manifests/` with metadata
 * (no downloads). Manifests whose metadata lacks the backup's identity are skipped: they were not written
 * by this app. Newest first.
 */
export async function listBackupRecords(container: ContainerClient, hsmName?: string, options: ListBackupRecordsOptions = {}): Promise<BackupListing[]> {
  const out: BackupListing[] = [];
  const { auth } = options;
  const ignore = (blob: string, reason: string): void => options.onIgnored?.({ blob, reason });
  try {
    for await (const item of container.listBlobsFlat({ prefix: MANIFEST_PREFIX, includeMetadata: true })) {
      const folder = folderOfManifestBlob(item.name);
      let record: BackupListing | undefined;
      if (auth === undefined) {
        const r = folder === undefined ? undefined : backupRecordFromMetadata(item.metadata);
        if (r === undefined || r.folder !== folder) continue;
        record = { ...r, manifestBlob: item.name };
        const seen = reverificationOf(item.metadata, folder);
        if (seen !== undefined) record.reverification = seen;
      } else {
        const checked = authenticatedRecord(item.name, item.metadata, auth);
        if (typeof checked === "string") {
          ignore(item.name, checked);
          continue;
        }
        record = checked.record;
        if (checked.unverifiedBecause !== undefined && (hsmName === undefined || record.hsmName === hsmName)) ignore(item.name, checked.unverifiedBecause);
      }
      if (hsmName !== undefined && record.hsmName !== hsmName) continue;
      out.push(record);
    }
  } catch (e) {
    throw storageFailure(e, "listing backup manifests", `${container.url}/${MANIFEST_PREFIX}`);
  }
  return out.sort((a, b) => Date.parse(b.completedAt) - Date.parse(a.completedAt) || (a.folder < b.folder ? 1 : -1));
}

/**
 * The backup a manifest blob stands for, if its name and metadata authenticate: the name is exactly
 * `manifests/{folder}.json` of a well-formed `mhsm-<hsm>-<timestamp>` folder, the metadata names that folder and
 * its record MAC matches. A verified mark without a valid MAC is dropped (`unverifiedBecause` says so).
 * Otherwise the reason the blob must be ignored.
 */
export function authenticatedRecord(
  blobName: string,
  rawMetadata: Record<string, string> | undefined,
  auth: ManifestAuthenticator,
): { record: BackupListing; unverifiedBecause?: string } | string {
  const folder = folderOfManifestBlob(blobName);
  if (folder === undefined || folderHsmName(folder) === undefined || blobName !== manifestBlobName(folder)) {
    return "its name is not manifests/mhsm-<hsm>-<timestamp>.json";
  }
  const r = backupRecordFromMetadata(rawMetadata);
  if (r === undefined || r.folder !== folder) return "its metadata does not name this backup (hsm, folder, completion time)";
  const metadata = Object.fromEntries(Object.entries(rawMetadata ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const jobId = metadata[manifestMetadataKeys.jobId] ?? "";
  if (!auth.verify(["record", r.hsmName, folder, jobId, metadata[manifestMetadataKeys.completedAt] ?? ""], metadata[manifestMacKeys.record])) {
    return "its metadata MAC does not match (not written by this app with BACKUP_MANIFEST_KEY, or altered since)";
  }
  const record: BackupListing = { ...r, manifestBlob: blobName };
  const reverification = reverificationOf(metadata, folder, auth);
  if (reverification !== undefined) record.reverification = reverification;
  const verifiedAt = metadata[manifestMetadataKeys.verifiedAt];
  if (record.verified && (verifiedAt === undefined || !auth.verify(["verified", folder, verifiedAt], metadata[manifestMacKeys.verified]))) {
    record.verified = false;
    delete record.verifiedAt;
    return { record, unverifiedBecause: "its verified mark has no valid MAC; the backup is treated as unverified" };
  }
  return { record };
}

/**
 * The re-verification record on a manifest blob's metadata, or undefined when there is none. With `auth`, a
 * record whose MAC does not match is treated as absent (a storage writer cannot forge a "passed").
 */
export function reverificationOf(rawMetadata: Record<string, string> | undefined, folder: string, auth?: ManifestAuthenticator): Reverification | undefined {
  const m = Object.fromEntries(Object.entries(rawMetadata ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const at = m[manifestMetadataKeys.reverifiedAt];
  const result = m[manifestMetadataKeys.reverifyResult];
  if (at === undefined || Number.isNaN(Date.parse(at)) || (result !== "passed" && result !== "failed")) return undefined;
  if (auth !== undefined && !auth.verify(["reverified", folder, at, result], m[manifestMacKeys.reverified])) return undefined;
  return { at, passed: result === "passed" };
}
