import type { ContainerClient } from "@azure/storage-blob";
import { manifestBlobName, parseBackupManifest } from "../backup/backupManifest";
import { authenticatedRecord, listBackupRecords, type IgnoredManifest } from "../backup/listBackupRecords";
import type { ManifestAuthenticator } from "../backup/manifestAuthenticator";
import { manifestProblem } from "../backup/manifestTrust";
import { storageFailure } from "../storage/storageFailure";
import type { BackupCandidate, BackupCandidateSource } from "./backupCandidate";

/**
 * The drill's view of the backup workflow's storage: manifests at `manifests/{folder}.json` in the backup
 * container, their state (verified or not) in the manifest blob's metadata. Only authenticated backups count
 * (name, metadata MAC, verified-mark MAC, then the manifest's own MAC and a folder of its HSM inside this
 * container): anything else is ignored and handed to `report` (log + audit record), so a forged manifest can
 * neither be restored nor send the restore, or its SAS, anywhere else. Only VERIFIED manifests are downloaded;
 * each is digest-checked on parse, so an altered manifest fails the drill with `[BackupIntegrityFailed]`.
 */
export function blobBackupCandidateSource(
  container: ContainerClient,
  auth: ManifestAuthenticator,
  report: (ignored: IgnoredManifest[], log?: (line: string) => void) => Promise<unknown> = async () => undefined,
): BackupCandidateSource {
  const containerUrl = container.url.split("?")[0] ?? "";
  const load = async (blob: string, verifiedAt: string | undefined): Promise<BackupCandidate | IgnoredManifest> => {
    let text: string;
    try {
      text = (await container.getBlobClient(blob).downloadToBuffer()).toString("utf8");
    } catch (e) {
      throw storageFailure(e, "reading a backup manifest", `${containerUrl}/${blob}`);
    }
    const manifest = parseBackupManifest(text, `${containerUrl}/${blob}`);
    const problem = manifestBlobName(manifest.backup.folder) === blob ? manifestProblem(manifest, auth, containerUrl) : `it describes folder ${manifest.backup.folder}`;
    if (problem !== undefined) return { blob, reason: problem };
    const candidate: BackupCandidate = { manifest, verified: verifiedAt !== undefined };
    if (verifiedAt !== undefined) candidate.verifiedAt = verifiedAt;
    return candidate;
  };
  return {
    async listBackups(hsmName, log) {
      const ignored: IgnoredManifest[] = [];
      const records = await listBackupRecords(container, hsmName, { auth, onIgnored: (i) => ignored.push(i) });
      const out: BackupCandidate[] = [];
      for (const r of records.filter((x) => x.verified)) {
        const loaded = await load(r.manifestBlob, r.verifiedAt ?? r.completedAt);
        if ("reason" in loaded) ignored.push(loaded);
        else out.push(loaded);
      }
      await report(ignored, log);
      return out;
    },
    async getBackup(hsmName, folder, log) {
      const blob = manifestBlobName(folder);
      let metadata: Record<string, string> | undefined;
      try {
        metadata = (await container.getBlobClient(blob).getProperties()).metadata;
      } catch (e) {
        if ((e as { statusCode?: number }).statusCode === 404) return undefined;
        throw storageFailure(e, "reading a backup manifest's state", `${containerUrl}/${blob}`);
      }
      const checked = authenticatedRecord(blob, metadata, auth);
      if (typeof checked === "string") {
        await report([{ blob, reason: checked }], log);
        return undefined;
      }
      if (checked.unverifiedBecause !== undefined) await report([{ blob, reason: checked.unverifiedBecause }], log);
      const record = checked.record;
      if (record.hsmName !== hsmName || record.folder !== folder) return undefined;
      const loaded = await load(blob, record.verified ? (record.verifiedAt ?? record.completedAt) : undefined);
      if ("reason" in loaded) {
        await report([loaded], log);
        return undefined;
      }
      return loaded;
    },
  };
}
