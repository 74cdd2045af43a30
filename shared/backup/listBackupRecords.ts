import type { ContainerClient } from "@azure/storage-blob";
import { storageFailure } from "../storage/storageFailure";
import { folderOfManifestBlob, MANIFEST_PREFIX } from "./backupManifest";
import { backupRecordFromMetadata } from "./manifestMetadata";
import type { BackupRecord } from "./planRetention";

export type BackupListing = BackupRecord & { manifestBlob: string; jobId?: string; verifiedAt?: string };

/**
 * Every backup that has a manifest, with its state, from ONE list call over `manifests/` with metadata
 * (no downloads). Manifests whose metadata lacks the backup's identity are skipped: they were not written
 * by this app. Newest first.
 */
export async function listBackupRecords(container: ContainerClient, hsmName?: string): Promise<BackupListing[]> {
  const out: BackupListing[] = [];
  try {
    for await (const item of container.listBlobsFlat({ prefix: MANIFEST_PREFIX, includeMetadata: true })) {
      const folder = folderOfManifestBlob(item.name);
      const record = folder === undefined ? undefined : backupRecordFromMetadata(item.metadata);
      if (record === undefined || record.folder !== folder) continue;
      if (hsmName !== undefined && record.hsmName !== hsmName) continue;
      out.push({ ...record, manifestBlob: item.name });
    }
  } catch (e) {
    throw storageFailure(e, "listing backup manifests", `${container.url}/${MANIFEST_PREFIX}`);
  }
  return out.sort((a, b) => Date.parse(b.completedAt) - Date.parse(a.completedAt) || (a.folder < b.folder ? 1 : -1));
}
