/**
 * Reads a full backup folder back, decrypting and validating EVERY blob before returning anything, so a
 * restore either has a complete, authentic backup in hand or fails without touching the HSM.
 */
import { createHash } from "node:crypto";
import { AdminJobFailure } from "./adminJobManager";
import { EnvelopeError, openEnvelope } from "./backupEnvelope";
import {
  deletedKeyBlob,
  InvalidBackupContent,
  keyBlob,
  MANIFEST_BLOB,
  RBAC_BLOB,
  validateManifest,
  validateRbac,
  validateStoredDeletedKey,
  validateStoredKey,
  type BackupContent,
  type BackupManifest,
} from "./backupContent";
import { describeStorageFailure, type OpenedContainer } from "./blobTarget";
import type { StoredKey } from "../keys/keyModel";

interface ReadArgs {
  container: OpenedContainer;
  folder: string;
  securityDomainSecret: Buffer;
}

export async function readFullBackup(args: ReadArgs): Promise<BackupContent> {
  const manifest = await readManifest(args);
  const keys: StoredKey[] = [];
  for (const name of manifest.keys) {
    keys.push(validateOrFail(() => validateStoredKey(openChecked(args, manifest, keyBlob(name)), name), args));
  }
  const deletedKeys = [];
  for (const name of manifest.deletedKeys) {
    deletedKeys.push(validateOrFail(() => validateStoredDeletedKey(openChecked(args, manifest, deletedKeyBlob(name)), name), args));
  }
  const rbac = validateOrFail(() => validateRbac(openChecked(args, manifest, RBAC_BLOB)), args);
  return { keys, deletedKeys, rbac };
}

/** Reads one key (all versions) for a selective key restore; the manifest is verified too. */
export async function readKeyFromBackup(args: ReadArgs, keyName: string): Promise<StoredKey> {
  const manifest = await readManifest(args);
  if (!manifest.keys.includes(keyName)) {
    throw new AdminJobFailure(
      "KeyNotFoundInBackup",
      `The key '${keyName}' is not in backup folder ${args.folder} (it holds ${manifest.keys.length} active key(s)). Pick a backup taken while the key existed.`,
    );
  }
  return validateOrFail(() => validateStoredKey(openChecked(args, manifest, keyBlob(keyName)), keyName), args);
}

/** Pre-restore check: the folder is readable with this access and its manifest opens with this HSM's security domain. */
export async function probeRestoreSource(args: ReadArgs): Promise<void> {
  await readManifest(args);
}

// ---- internals ----

/** Envelope texts downloaded so far, by blob path (filled by readManifest, read by openChecked). */
const downloaded = new WeakMap<BackupManifest, Map<string, string>>();

async function readManifest(args: ReadArgs): Promise<BackupManifest> {
  const { container, folder } = args;
  const texts = new Map<string, string>();
  try {
    for await (const item of container.client.listBlobsFlat({ prefix: `${folder}/` })) {
      texts.set(item.name.slice(folder.length + 1), "");
    }
  } catch (error) {
    throw new AdminJobFailure("StorageAccessFailed", describeStorageFailure(error, container, "restore", `list the backup folder '${folder}'`));
  }
  if (texts.size === 0) {
    throw new AdminJobFailure(
      "BackupNotFound",
      `The backup folder '${folder}' does not exist in container ${container.containerUri} (no blobs under it). Pass the folderUri a successful full backup returned.`,
    );
  }
  if (!texts.has(MANIFEST_BLOB)) {
    throw new AdminJobFailure(
      "InvalidBackup",
      `Invalid backup provided: folder '${folder}' has no manifest, so the backup is incomplete (interrupted or partly deleted). Restore from a backup whose job Succeeded.`,
    );
  }
  for (const path of texts.keys()) {
    try {
      const buffer = await container.client.getBlobClient(`${folder}/${path}`).downloadToBuffer();
      texts.set(path, buffer.toString("utf8"));
    } catch (error) {
      throw new AdminJobFailure("StorageAccessFailed", describeStorageFailure(error, container, "restore", `read the backup blob '${folder}/${path}'`));
    }
  }
  const manifestText = texts.get(MANIFEST_BLOB) ?? "";
  const manifest = validateOrFail(() => validateManifest(openOrFail(args, MANIFEST_BLOB, manifestText)), args);
  downloaded.set(manifest, texts);
  for (const [path, hash] of Object.entries(manifest.blobs)) {
    const text = texts.get(path);
    if (text === undefined) {
      throw new AdminJobFailure("InvalidBackup", `Invalid backup provided: blob '${folder}/${path}' listed in the manifest is missing. The backup is incomplete; restore from an unmodified backup folder.`);
    }
    if (createHash("sha256").update(text).digest("hex") !== hash) {
      throw new AdminJobFailure("InvalidBackup", `Invalid backup provided: blob '${folder}/${path}' does not match the manifest (it was modified or replaced). Restore from an unmodified backup folder.`);
    }
  }
  return manifest;
}

function openChecked(args: ReadArgs, manifest: BackupManifest, path: string): unknown {
  const text = downloaded.get(manifest)?.get(path);
  if (text === undefined || manifest.blobs[path] === undefined) {
    throw new AdminJobFailure("InvalidBackup", `Invalid backup provided: blob '${args.folder}/${path}' is not part of the backup's manifest.`);
  }
  return openOrFail(args, path, text);
}

function openOrFail(args: ReadArgs, path: string, text: string): unknown {
  try {
    return openEnvelope(args.securityDomainSecret, `${args.folder}/${path}`, text);
  } catch (error) {
    if (error instanceof EnvelopeError) {
      throw new AdminJobFailure(error.reason === "foreignSecurityDomain" ? "SecurityDomainMismatch" : "InvalidBackup", error.message);
    }
    throw error;
  }
}

function validateOrFail<T>(validate: () => T, args: ReadArgs): T {
  try {
    return validate();
  } catch (error) {
    if (error instanceof InvalidBackupContent) throw new AdminJobFailure("InvalidBackup", `${error.message} (folder ${args.folder})`);
    throw error;
  }
}
