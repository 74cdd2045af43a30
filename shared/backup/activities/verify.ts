import { LifecycleError } from "../../errors/lifecycleError";
import { listBlobDigests } from "../../storage/listBlobDigests";
import { storageFailure } from "../../storage/storageFailure";
import type { BackupDeps } from "../backupDeps";
import { isBackupFolderName } from "../backupFolderParts";
import { manifestBlobName, parseBackupManifest } from "../backupManifest";
import { compareBlobInventory } from "../compareBlobInventory";
import { manifestMetadataKeys } from "../manifestMetadata";
import { manifestMacKeys, manifestProblem, reverifiedMac, verifiedMac } from "../manifestTrust";
import { streamText } from "../../storage/streamText";

export interface VerifyBackupInput {
  folder: string;
  /**
   * A scheduled re-verification (see reverifyBackup): the result is also written as the authenticated
   * re-verification record (`reverifiedat`, `reverifyresult`, `reverifiedmac`) on the manifest blob.
   */
  reverification?: boolean;
}

export interface VerifyBackupOutput {
  folder: string;
  verifiedAt: string;
  blobCount: number;
  manifestDigest: string;
}

/**
 * Activity `verifyBackup`: re-reads the manifest (schema and own digest), re-lists and re-hashes every blob
 * of the folder and compares. Only when everything matches is the backup marked verified (`verifiedat`
 * metadata on the manifest blob). On any difference the verified mark is REMOVED (a backup verified last
 * month and damaged since must not stay "verified") and `BackupIntegrityFailed` names every bad blob.
 */
export async function verifyBackup(input: VerifyBackupInput, deps: BackupDeps): Promise<VerifyBackupOutput> {
  const folder = input.folder;
  if (typeof folder !== "string" || !isBackupFolderName(folder)) {
    throw new LifecycleError("BadParameter", `verifyBackup needs a backup folder name like mhsm-<name>-<timestamp> (got ${JSON.stringify(folder)}).`);
  }
  const container = deps.backupContainer;
  const manifestBlob = container.getBlockBlobClient(manifestBlobName(folder));
  const where = `${container.url.split("?")[0]}/${manifestBlobName(folder)}`;
  let text: string;
  let metadata: Record<string, string>;
  let etag: string | undefined;
  try {
    // GET first: a HEAD 404 has no body, so only the GET tells a missing manifest from a missing container.
    // (downloadToBuffer would HEAD first.) The GET response also carries the metadata.
    const response = await manifestBlob.download(0);
    text = await streamText(response.readableStreamBody);
    metadata = response.metadata ?? {};
    etag = response.etag;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404 && (e as { code?: string }).code === "BlobNotFound") {
      throw new LifecycleError("BackupIntegrityFailed", `The backup ${folder} has no manifest (${where} is missing). Fix: it cannot be verified; take a new backup.`, e);
    }
    throw storageFailure(e, "reading the backup manifest", where);
  }

  const record = (at: string, result: "passed" | "failed"): Record<string, string> =>
    input.reverification === true
      ? { [manifestMetadataKeys.reverifiedAt]: at, [manifestMetadataKeys.reverifyResult]: result, [manifestMacKeys.reverified]: reverifiedMac(deps.manifestAuth, folder, at, result) }
      : {};
  const fail = async (detail: string, cause?: unknown): Promise<never> => {
    const { [manifestMetadataKeys.verifiedAt]: _dropped, [manifestMacKeys.verified]: _droppedMac, ...rest } = lowerCaseKeys(metadata);
    const failedAt = deps.now().toISOString();
    try {
      // If-Match: an operator's pin set meanwhile is never overwritten (412 → the activity is retried).
      await manifestBlob.setMetadata({ ...rest, [manifestMetadataKeys.verifyFailedAt]: failedAt, ...record(failedAt, "failed") }, { conditions: { ifMatch: etag } });
    } catch (e) {
      throw storageFailure(e, "marking the backup as failed verification", where);
    }
    throw new LifecycleError("BackupIntegrityFailed", detail, cause);
  };

  let manifest;
  try {
    manifest = parseBackupManifest(text, where);
  } catch (e) {
    return fail((e as LifecycleError).detail ?? String(e), e);
  }
  if (manifest.backup.folder !== folder) {
    return fail(`The manifest ${where} describes folder ${manifest.backup.folder}, not ${folder}. Fix: the manifest was replaced; take a new backup.`);
  }
  const untrusted = manifestProblem(manifest, deps.manifestAuth, container.url);
  if (untrusted !== undefined) {
    return fail(`The manifest ${where} is not authentic: ${untrusted}. Fix: do not restore from it; take a new backup and find out who wrote this blob.`);
  }
  const actual = await listBlobDigests(container, `${folder}/`);
  const problems = compareBlobInventory(manifest.blobs, actual);
  if (problems.length > 0) {
    return fail(
      `The backup ${folder} does not match its manifest: ${problems.map((p) => p.detail).join("; ")}. Fix: do not restore from it; restore from another verified backup and take a new backup.`,
    );
  }
  const verifiedAt = deps.now().toISOString();
  const { [manifestMetadataKeys.verifyFailedAt]: _cleared, ...rest } = lowerCaseKeys(metadata);
  try {
    await manifestBlob.setMetadata(
      { ...rest, [manifestMetadataKeys.verifiedAt]: verifiedAt, [manifestMacKeys.verified]: verifiedMac(deps.manifestAuth, folder, verifiedAt), ...record(verifiedAt, "passed") },
      { conditions: { ifMatch: etag } },
    );
  } catch (e) {
    throw storageFailure(e, "marking the backup as verified", where);
  }
  return { folder, verifiedAt, blobCount: actual.length, manifestDigest: manifest.digest.value };
}

function lowerCaseKeys(metadata: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k.toLowerCase(), v]));
}
