import { LifecycleError } from "../../errors/lifecycleError";
import { shortLivedContainerSas } from "../../storage/backupContainerSas";
import { listBlobDigests } from "../../storage/listBlobDigests";
import { storageFailure } from "../../storage/storageFailure";
import type { BackupDeps } from "../backupDeps";
import { isBackupFolderName } from "../backupFolderParts";
import { manifestBlobName, parseBackupManifest } from "../backupManifest";
import { compareBlobInventory } from "../compareBlobInventory";
import { backupRecordFromMetadata, manifestMetadataKeys } from "../manifestMetadata";
import { manifestMacKeys, manifestProblem } from "../manifestTrust";
import { streamText } from "../../storage/streamText";

export interface CopyBackupInput {
  folder: string;
}

export interface CopyBackupOutput {
  folder: string;
  /** Destination container URL (no query string). */
  destinationUrl: string;
  copied: number;
  /** Blobs already present with the right digest (a retry, or an immutable container that keeps them). */
  alreadyPresent: number;
  /**
   * The copy's immutability as the data plane shows it on the copied manifest: a time-based retention policy
   * (version-level WORM or the container's default policy: `until`, `mode`) and/or a legal hold; `visible: false`
   * when the storage reports neither (not immutable, or a service such as Azurite that does not report it).
   */
  immutability: { visible: boolean; until?: string; mode?: string; legalHold?: boolean };
}

/** Source SAS lifetime: each blob copy is one synchronous call, so minutes are plenty. */
const COPY_SAS_MS = 15 * 60_000;

/**
 * Activity `copyBackup`: server-side copy of a VERIFIED backup (folder blobs, then its manifest) into
 * `BACKUP_COPY_CONTAINER_URL` — typically an immutable (WORM) container, which the HSM cannot write to
 * itself. Blobs already in the destination are never overwritten (immutable storage refuses it anyway):
 * they must already carry the manifest's digest. After copying, every destination blob is re-hashed and
 * compared with the manifest; any difference fails with `BackupIntegrityFailed` naming the blob.
 */
export async function copyBackup(input: CopyBackupInput, deps: BackupDeps): Promise<CopyBackupOutput> {
  const folder = input?.folder;
  if (typeof folder !== "string" || !isBackupFolderName(folder)) {
    throw new LifecycleError("BadParameter", `copyBackup needs a backup folder name like mhsm-<name>-<timestamp> (got ${JSON.stringify(folder)}).`);
  }
  const target = deps.copyContainer;
  if (target === undefined) {
    throw new LifecycleError("SettingsInvalid", "copyBackup was called but BACKUP_COPY_CONTAINER_URL is not set. Fix: set it to the copy container's URL (no SAS), or do not schedule copies.");
  }
  const source = deps.backupContainer;
  const sourceUrl = source.url.split("?")[0] ?? "";
  const destinationUrl = target.url.split("?")[0] ?? "";
  const manifestName = manifestBlobName(folder);

  let manifestText: string;
  let metadata: Record<string, string>;
  try {
    const response = await source.getBlobClient(manifestName).download(0);
    manifestText = await streamText(response.readableStreamBody);
    metadata = response.metadata ?? {};
  } catch (e) {
    throw storageFailure(e, "reading the manifest to copy", `${sourceUrl}/${manifestName}`);
  }
  const lower = Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k.toLowerCase(), v]));
  const verifiedAt = lower[manifestMetadataKeys.verifiedAt] ?? "";
  if (backupRecordFromMetadata(metadata)?.verified !== true || !deps.manifestAuth.verify(["verified", folder, verifiedAt], lower[manifestMacKeys.verified])) {
    throw new LifecycleError("VerificationFailed", `The backup ${folder} is not verified, so it is not copied. Fix: run verifyBackup first; copy only verified backups.`);
  }
  const manifest = parseBackupManifest(manifestText, `${sourceUrl}/${manifestName}`);
  const untrusted = manifest.backup.folder === folder ? manifestProblem(manifest, deps.manifestAuth, sourceUrl) : `it describes folder ${manifest.backup.folder}`;
  if (untrusted !== undefined) throw new LifecycleError("BackupIntegrityFailed", `The manifest ${sourceUrl}/${manifestName} is not authentic: ${untrusted}. Nothing was copied. Fix: take a new backup and find out who wrote this blob.`);

  const present = new Map((await listBlobDigests(target, `${folder}/`)).map((b) => [b.name, b]));
  const sas = await shortLivedContainerSas(deps.blobService, source.containerName, "r", { now: deps.now(), validForMs: COPY_SAS_MS });
  let copied = 0;
  let alreadyPresent = 0;
  for (const blob of manifest.blobs) {
    if (present.has(blob.name)) {
      alreadyPresent++;
      continue; // compared with the manifest below, like every copied blob
    }
    try {
      // The source URL carries a read SAS: a secret that exists only in this call.
      await target.getBlobClient(blob.name).syncCopyFromURL(`${source.getBlobClient(blob.name).url.split("?")[0]}?${sas}`);
    } catch (e) {
      throw storageFailure(e, `copying ${blob.name}`, `${destinationUrl}/${blob.name}`);
    }
    copied++;
  }
  const problems = compareBlobInventory(manifest.blobs, await listBlobDigests(target, `${folder}/`));
  if (problems.length > 0) {
    throw new LifecycleError(
      "BackupIntegrityFailed",
      `The copy of ${folder} in ${destinationUrl} does not match the manifest: ${problems.map((p) => p.detail).join("; ")}. Fix: investigate the copy container; the source backup is unchanged.`,
    );
  }
  // The manifest goes last, so a copy container only ever lists backups whose blobs are complete.
  const destManifest = target.getBlockBlobClient(manifestName);
  const existing = await destManifest.exists().catch((e: unknown) => {
    throw storageFailure(e, "checking the copied manifest", `${destinationUrl}/${manifestName}`);
  });
  if (!existing) {
    try {
      await destManifest.upload(manifestText, Buffer.byteLength(manifestText), { blobHTTPHeaders: { blobContentType: "application/json" }, metadata });
    } catch (e) {
      throw storageFailure(e, "writing the copied manifest", `${destinationUrl}/${manifestName}`);
    }
  }
  const copiedManifest = await destManifest.downloadToBuffer().catch((e: unknown) => {
    throw storageFailure(e, "re-reading the copied manifest", `${destinationUrl}/${manifestName}`);
  });
  if (parseBackupManifest(copiedManifest.toString("utf8"), `${destinationUrl}/${manifestName}`).digest.value !== manifest.digest.value) {
    throw new LifecycleError("BackupIntegrityFailed", `The copy container already holds a different manifest for ${folder} (${destinationUrl}/${manifestName}). Fix: investigate the copy container; nothing was overwritten.`);
  }
  const props = await destManifest.getProperties().catch((e: unknown) => {
    throw storageFailure(e, "reading the copied manifest's properties", `${destinationUrl}/${manifestName}`);
  });
  const until = props.immutabilityPolicyExpiresOn;
  const immutability: CopyBackupOutput["immutability"] = {
    visible: until !== undefined || props.legalHold === true,
    ...(until !== undefined ? { until: until.toISOString() } : {}),
    ...(props.immutabilityPolicyMode !== undefined ? { mode: props.immutabilityPolicyMode } : {}),
    ...(props.legalHold !== undefined ? { legalHold: props.legalHold } : {}),
  };
  return { folder, destinationUrl, copied, alreadyPresent, immutability };
}
