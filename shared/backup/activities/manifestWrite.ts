import { fromRestError, isRestErrorLike } from "../../errors/fromRestError";
import { LifecycleError } from "../../errors/lifecycleError";
import { listBlobDigests } from "../../storage/listBlobDigests";
import { storageFailure } from "../../storage/storageFailure";
import type { BackupDeps } from "../backupDeps";
import { backupFolderParts } from "../backupFolderParts";
import { BACKUP_MANIFEST_SCHEMA, BACKUP_MANIFEST_SCHEMA_VERSION, manifestBlobName, sealManifest } from "../backupManifest";
import { checkHsmInput } from "../backupTarget";
import { keyInventory } from "../keyInventory";
import type { ManifestRoleAssignment } from "../backupManifest";
import { roleAssignmentSnapshot } from "../roleAssignmentSnapshot";
import { manifestMetadataKeys } from "../manifestMetadata";
import { manifestMacKeys, manifestMac, manifestProblem, recordMac } from "../manifestTrust";

export interface WriteBackupManifestInput {
  hsmName: string;
  jobId: string;
  /** The folder URL the succeeded job reported. */
  folderUri: string;
  startTime: string;
  endTime: string;
}

export interface WriteBackupManifestOutput {
  folder: string;
  folderUrl: string;
  manifestBlob: string;
  manifestDigest: string;
  keyCount: number;
  blobCount: number;
}

/**
 * Activity `writeBackupManifest`: writes `manifests/{folder}.json` in the backup container — the HSM, the
 * job, its times, the key inventory (list pages; never material) limited to versions that existed before the job
 * started (see keyInventory's race rule), each key's rotation policy and the HSM's role assignments as of the
 * backup (what a drill compares the restored DR with), every blob of the folder with its size and
 * SHA-256, and the manifest's own digest. The backup is NOT verified yet: `verifyBackup` re-reads and marks it.
 * Idempotent: a retry rewrites the same manifest (only `createdAt` and the digest change).
 */
export async function writeBackupManifest(input: WriteBackupManifestInput, deps: BackupDeps): Promise<WriteBackupManifestOutput> {
  const { hsmName, hsmUrl } = checkHsmInput(input, deps, "writeBackupManifest");
  const { folder, folderUrl, containerUrl } = backupFolderParts(String(input.folderUri));
  for (const field of ["startTime", "endTime"] as const) {
    if (typeof input[field] !== "string" || Number.isNaN(Date.parse(input[field]))) {
      throw new LifecycleError("BadParameter", `writeBackupManifest needs ${field} as an ISO time (got ${JSON.stringify(input[field])}).`);
    }
  }
  const container = deps.backupContainer;
  const ownContainer = container.url.split("?")[0];
  if (containerUrl !== ownContainer) {
    throw new LifecycleError("BadParameter", `The backup folder ${folderUrl} is not in the backup container ${ownContainer}. Fix: pass the folderUri of a backup this app started.`);
  }

  const blobs = await listBlobDigests(container, `${folder}/`);
  if (blobs.length === 0) {
    throw new LifecycleError("BackupIntegrityFailed", `The backup folder ${folderUrl} is empty or missing, although job ${input.jobId} reported success. Fix: check the container's lifecycle rules and take a new backup.`);
  }
  let inventory;
  try {
    inventory = await keyInventory(deps.keyClient(hsmUrl), { ktyLookupLimit: deps.ktyLookupLimit, backupStartedAt: input.startTime });
  } catch (e) {
    throw fromRestError(e, { service: "managedHsm", operation: "listing keys and rotation policies for the backup manifest", resource: hsmUrl, requiredRole: "HSM Lifecycle Backup", requiredScope: "/" });
  }
  const keys = inventory.keys;
  let roleAssignments: ManifestRoleAssignment[] | null = null;
  let roleAssignmentsUnavailable: string | undefined;
  try {
    roleAssignments = await roleAssignmentSnapshot(deps.adminPipeline(hsmUrl));
  } catch (e) {
    // A refused read leaves the backup usable; the drill then compares role assignments with the live primary.
    if (!isRestErrorLike(e) || e.statusCode !== 403) {
      throw fromRestError(e, { service: "managedHsm", operation: "listing role assignments for the backup manifest", resource: hsmUrl, requiredRole: "HSM Lifecycle Backup", requiredScope: "/" });
    }
    roleAssignmentsUnavailable = `the backup identity may not list role assignments (403). Fix: grant it "HSM Lifecycle Backup" at scope "/" (hsm-lifecycle rbac apply).`;
  }
  const manifest = sealManifest({
    schema: BACKUP_MANIFEST_SCHEMA,
    schemaVersion: BACKUP_MANIFEST_SCHEMA_VERSION,
    hsm: { name: hsmName, url: hsmUrl },
    backup: { folder, folderUrl, containerUrl, jobId: input.jobId, startTime: input.startTime, endTime: input.endTime },
    keys,
    keysDuringBackup: inventory.keysDuringBackup,
    roleAssignments,
    ...(roleAssignmentsUnavailable === undefined ? {} : { roleAssignmentsUnavailable }),
    blobs,
    createdAt: deps.now().toISOString(),
  });
  manifest.digest.mac = manifestMac(deps.manifestAuth, manifest.digest.value);
  // Never write a manifest its readers would refuse (a folder of another HSM, or outside the container).
  const problem = manifestProblem(manifest, deps.manifestAuth, ownContainer ?? "");
  if (problem !== undefined) throw new LifecycleError("BackupIntegrityFailed", `The backup ${folderUrl} cannot get a manifest: ${problem}. Fix: pass the folderUri the backup job of "${hsmName}" returned.`);
  const completedAt = new Date(input.endTime).toISOString();
  const name = manifestBlobName(folder);
  const text = `${JSON.stringify(manifest, null, 2)}\n`;
  try {
    await container.getBlockBlobClient(name).upload(text, Buffer.byteLength(text), {
      blobHTTPHeaders: { blobContentType: "application/json" },
      metadata: {
        [manifestMetadataKeys.hsmName]: hsmName,
        [manifestMetadataKeys.folder]: folder,
        [manifestMetadataKeys.jobId]: input.jobId,
        [manifestMetadataKeys.completedAt]: completedAt,
        [manifestMacKeys.record]: recordMac(deps.manifestAuth, { hsmName, folder, jobId: input.jobId, completedAt }),
      },
    });
  } catch (e) {
    throw storageFailure(e, "uploading the backup manifest", `${ownContainer}/${name}`);
  }
  return { folder, folderUrl, manifestBlob: name, manifestDigest: manifest.digest.value, keyCount: keys.length, blobCount: blobs.length };
}
