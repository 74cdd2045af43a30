import type { ContainerClient } from "@azure/storage-blob";
import { manifestBlobName, parseBackupManifest } from "../backup/backupManifest";
import { listBackupRecords } from "../backup/listBackupRecords";
import { backupRecordFromMetadata, manifestMetadataKeys } from "../backup/manifestMetadata";
import { storageFailure } from "../storage/storageFailure";
import type { BackupCandidate, BackupCandidateSource } from "./backupCandidate";

/**
 * The drill's view of the backup workflow's storage: manifests at `manifests/{folder}.json` in the backup
 * container, their state (verified or not) in the manifest blob's metadata. Only VERIFIED manifests are
 * downloaded; each is digest-checked on parse, so an altered manifest fails the drill with
 * `[BackupIntegrityFailed]` instead of being trusted.
 */
export function blobBackupCandidateSource(container: ContainerClient): BackupCandidateSource {
  const load = async (blob: string, verifiedAt: string | undefined): Promise<BackupCandidate> => {
    let text: string;
    try {
      text = (await container.getBlobClient(blob).downloadToBuffer()).toString("utf8");
    } catch (e) {
      throw storageFailure(e, "reading a backup manifest", `${container.url}/${blob}`);
    }
    const candidate: BackupCandidate = { manifest: parseBackupManifest(text, `${container.url}/${blob}`), verified: verifiedAt !== undefined };
    if (verifiedAt !== undefined) candidate.verifiedAt = verifiedAt;
    return candidate;
  };
  return {
    async reference(hsmName, folder, by, until) {
      const blob = container.getBlockBlobClient(manifestBlobName(folder));
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          const props = await blob.getProperties();
          const metadata = props.metadata ?? {};
          const record = backupRecordFromMetadata(metadata);
          if (record === undefined || record.hsmName !== hsmName || metadata[manifestMetadataKeys.retiring]) return false;
          // Keep the later of an existing reference (another drill) and ours.
          const held = record.referencedUntil === undefined ? 0 : Date.parse(record.referencedUntil);
          const next = held > until.getTime() ? { by: metadata[manifestMetadataKeys.referencedBy] ?? by, until: record.referencedUntil! } : { by, until: until.toISOString() };
          // If-Match: retention marking it retiring (or verification) meanwhile makes this fail (412) and re-read.
          await blob.setMetadata({ ...metadata, [manifestMetadataKeys.referencedBy]: next.by, [manifestMetadataKeys.referencedUntil]: next.until }, { conditions: { ifMatch: props.etag } });
          return true;
        } catch (e) {
          const status = (e as { statusCode?: number }).statusCode;
          if (status === 404) return false;
          if (status === 412) continue;
          throw storageFailure(e, "marking a backup as used by a drill", `${container.url}/${manifestBlobName(folder)}`);
        }
      }
      return false;
    },
    async listBackups(hsmName) {
      const records = await listBackupRecords(container, hsmName);
      const out: BackupCandidate[] = [];
      for (const r of records.filter((x) => x.verified)) out.push(await load(r.manifestBlob, r.verifiedAt ?? r.completedAt));
      return out;
    },
    async getBackup(hsmName, folder) {
      const blob = manifestBlobName(folder);
      let metadata: Record<string, string> | undefined;
      try {
        metadata = (await container.getBlobClient(blob).getProperties()).metadata;
      } catch (e) {
        if ((e as { statusCode?: number }).statusCode === 404) return undefined;
        throw storageFailure(e, "reading a backup manifest's state", `${container.url}/${blob}`);
      }
      const record = backupRecordFromMetadata(metadata);
      if (record === undefined || record.hsmName !== hsmName || record.folder !== folder) return undefined;
      const candidate = await load(blob, record.verified ? (record.verifiedAt ?? record.completedAt) : undefined);
      return candidate;
    },
  };
}
