import type { ContainerClient } from "@azure/storage-blob";
import { manifestBlobName, parseBackupManifest } from "../backup/backupManifest";
import { authenticatedRecord, listBackupRecords, type IgnoredManifest } from "../backup/listBackupRecords";
import type { ManifestAuthenticator } from "../backup/manifestAuthenticator";
import { manifestProblem } from "../backup/manifestTrust";
import { writeBackupHold } from "../backup/backupHolds";
import { backupRecordFromMetadata, manifestMetadataKeys } from "../backup/manifestMetadata";
import { storageFailure } from "../storage/storageFailure";
import { listBlobDigests } from "../storage/listBlobDigests";
import { compareBlobInventory } from "../backup/compareBlobInventory";
import type { BackupCandidate, BackupCandidateSource, UnverifiedBackup } from "./backupCandidate";

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
  holds?: ContainerClient,
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
  /** The backup's manifest metadata, or undefined when it is gone. */
  const manifestState = async (folder: string): Promise<Record<string, string> | undefined> => {
    try {
      return (await container.getBlockBlobClient(manifestBlobName(folder)).getProperties()).metadata ?? {};
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404) return undefined;
      throw storageFailure(e, "reading a backup's state", `${containerUrl}/${manifestBlobName(folder)}`);
    }
  };
  const usable = (metadata: Record<string, string> | undefined, hsmName: string): boolean => {
    const record = backupRecordFromMetadata(metadata);
    return record !== undefined && record.hsmName === hsmName && !metadata?.[manifestMetadataKeys.retiring];
  };
  /**
   * The hold (see writeBackupHold) is written, then the manifest checked again: retention marks a backup
   * `retiring` BEFORE it reads the holds, so either retention sees this hold and keeps the backup, or this
   * check sees `retiring` and the drill picks another backup. Never both miss each other.
   */
  const reference = async (hsmName: string, folder: string, by: string, until: Date): Promise<boolean> => {
    if (!usable(await manifestState(folder), hsmName)) return false;
    await writeBackupHold(holds!, folder, by, until);
    return usable(await manifestState(folder), hsmName);
  };
  return {
    ...(holds === undefined ? {} : { reference }),
    async blobProblem(candidate) {
      const folder = candidate.manifest.backup.folder;
      const problems = compareBlobInventory(candidate.manifest.blobs, await listBlobDigests(container, `${folder}/`));
      return problems.length === 0 ? undefined : `its blobs do not match its manifest (${problems.map((p) => p.detail).join("; ")})`;
    },
    async unverifiedBackups(hsmName) {
      const records = await listBackupRecords(container, hsmName, { auth });
      return records
        .filter((r) => !r.verified && r.retiring !== true)
        .map((r): UnverifiedBackup => ({
          folder: r.folder,
          completedAt: r.completedAt,
          reason: r.reverification?.passed === false ? `its last re-verification failed at ${r.reverification.at}` : "it is not verified (its verification failed or has not run yet)",
        }));
    },
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
