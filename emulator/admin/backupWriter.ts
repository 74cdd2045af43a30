/**
 * Writes a full backup folder into Blob storage: one encrypted blob per key and per deleted key, one for
 * RBAC, then the manifest (last, so an interrupted backup leaves a folder a restore rejects as incomplete).
 */
import { createHash } from "node:crypto";
import { AdminJobFailure } from "./adminJobManager";
import { sealEnvelope } from "./backupEnvelope";
import { BACKUP_FORMAT, deletedKeyBlob, keyBlob, MANIFEST_BLOB, RBAC_BLOB, type BackupContent, type BackupManifest } from "./backupContent";
import { describeStorageFailure, type OpenedContainer } from "./blobTarget";

export interface WriteBackupArgs {
  container: OpenedContainer;
  folder: string;
  hsmName: string;
  createdAt: number;
  securityDomainSecret: Buffer;
  content: BackupContent;
}

export async function writeFullBackup(args: WriteBackupArgs): Promise<void> {
  const { container, folder, securityDomainSecret, content } = args;
  const blobs: Record<string, string> = {};
  const put = async (path: string, value: unknown): Promise<void> => {
    const text = sealEnvelope(securityDomainSecret, `${folder}/${path}`, value);
    blobs[path] = createHash("sha256").update(text).digest("hex");
    try {
      await container.client.getBlockBlobClient(`${folder}/${path}`).upload(text, Buffer.byteLength(text), {
        blobHTTPHeaders: { blobContentType: "application/json" },
      });
    } catch (error) {
      throw new AdminJobFailure("StorageAccessFailed", describeStorageFailure(error, container, "backup", `write the backup blob '${folder}/${path}'`));
    }
  };
  // RBAC first: it is always present, so a missing container / bad SAS fails on the first write.
  await put(RBAC_BLOB, content.rbac);
  for (const key of content.keys) await put(keyBlob(key.name), key);
  for (const deleted of content.deletedKeys) await put(deletedKeyBlob(deleted.key.name), deleted);
  const manifest: BackupManifest = {
    format: BACKUP_FORMAT,
    hsmName: args.hsmName,
    createdAt: args.createdAt,
    keys: content.keys.map((k) => k.name),
    deletedKeys: content.deletedKeys.map((d) => d.key.name),
    blobs: { ...blobs },
  };
  await put(MANIFEST_BLOB, manifest);
}

/**
 * Pre-backup check: proves the container is reachable and writable with the given access by writing and
 * deleting a probe blob outside any backup folder. Nothing of the HSM is written.
 */
export async function probeBackupTarget(container: OpenedContainer): Promise<void> {
  const probe = container.client.getBlockBlobClient(`.mhsm-prebackup-probe-${Date.now()}`);
  try {
    await probe.upload("probe", 5);
    await probe.delete();
  } catch (error) {
    throw new AdminJobFailure("StorageAccessFailed", describeStorageFailure(error, container, "backup", "write and delete a probe blob"));
  }
}
