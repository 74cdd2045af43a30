import { LifecycleError } from "../../errors/lifecycleError";
import { storageFailure } from "../../storage/storageFailure";
import type { BackupDeps } from "../backupDeps";
import { isBackupFolderName } from "../backupFolderParts";
import { manifestBlobName } from "../backupManifest";
import { manifestMetadataKeys } from "../manifestMetadata";
import { verifyBackup } from "./verify";

export interface ReverifyBackupInput {
  folder: string;
}

/**
 * - `passed` / `failed`: the re-verification record written on the manifest (`failed` also removed the verified
 *   mark, so drills and retention no longer count the backup as verified).
 * - `skipped`: retention retired or deleted the backup meanwhile (its blobs going missing is not damage).
 */
export type ReverifyBackupOutput =
  | { folder: string; result: "passed"; at: string; blobCount: number }
  | { folder: string; result: "failed"; at: string; detail: string }
  | { folder: string; result: "skipped"; detail: string };

/**
 * Activity `reverifyBackup`: the scheduled re-verification of one stored backup, with the same checks as the
 * backup's own verification (manifest schema, digest and MAC; every blob re-listed and re-hashed against it),
 * recorded as an authenticated re-verification record. A mismatch is an outcome, returned as a value, so the
 * orchestration raises it (event + audit) instead of durable retrying it.
 *
 * Retention and re-verification may meet: retention marks a backup `retiring` BEFORE it deletes a blob, and
 * every write here is conditional on the manifest's ETag, so a backup retention is deleting is never reported
 * as damaged: a failure is confirmed by reading the manifest again, and one that is gone or retiring is skipped.
 */
export async function reverifyBackup(input: ReverifyBackupInput, deps: BackupDeps): Promise<ReverifyBackupOutput> {
  const folder = input?.folder;
  if (typeof folder !== "string" || !isBackupFolderName(folder)) {
    throw new LifecycleError("BadParameter", `reverifyBackup needs a backup folder name like mhsm-<name>-<timestamp> (got ${JSON.stringify(folder)}).`);
  }
  const before = await manifestState(folder, deps);
  if (before !== "present") return { folder, result: "skipped", detail: skipReason(before) };
  try {
    const v = await verifyBackup({ folder, reverification: true }, deps);
    return { folder, result: "passed", at: v.verifiedAt, blobCount: v.blobCount };
  } catch (e) {
    const after = await manifestState(folder, deps);
    if (after !== "present") return { folder, result: "skipped", detail: skipReason(after) };
    if (e instanceof LifecycleError && e.code === "BackupIntegrityFailed") {
      const at = (await deps.backupContainer.getBlockBlobClient(manifestBlobName(folder)).getProperties()).metadata?.[manifestMetadataKeys.reverifiedAt] ?? deps.now().toISOString();
      return { folder, result: "failed", at, detail: e.detail ?? e.message };
    }
    throw e;
  }
}

type ManifestState = "present" | "gone" | "retiring";

function skipReason(state: Exclude<ManifestState, "present">): string {
  return state === "gone" ? "its manifest is gone (retention deleted the backup)" : "retention is deleting it (marked retiring)";
}

async function manifestState(folder: string, deps: BackupDeps): Promise<ManifestState> {
  const blob = deps.backupContainer.getBlockBlobClient(manifestBlobName(folder));
  try {
    const props = await blob.getProperties();
    const retiring = Object.entries(props.metadata ?? {}).some(([k, v]) => k.toLowerCase() === manifestMetadataKeys.retiring && v !== "");
    return retiring ? "retiring" : "present";
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return "gone";
    throw storageFailure(e, "reading a backup manifest's state", `${deps.backupContainer.url.split("?")[0]}/${manifestBlobName(folder)}`);
  }
}
