import type { ContainerClient } from "@azure/storage-blob";
import { storageFailure } from "../storage/storageFailure";
import { folderOfManifestBlob, MANIFEST_PREFIX, manifestBlobName } from "./backupManifest";

/** What retention did with the copies (`BACKUP_COPY_CONTAINER_URL`). */
export interface CopyRetentionOutcome {
  /** Copies deleted (planned, on a dry run): their backup was retired from the backup container. */
  deleted: string[];
  /** Copies of retired backups the copy container refused to delete (immutability): reported, not a failure. */
  retained: Array<{ folder: string; reason: string }>;
}

/** Storage error codes of a write refused by an immutability policy or a legal hold. */
const IMMUTABLE = /Immutab|LegalHold/i;

/**
 * Retention for the copies: a copy goes when its backup has gone — no manifest of it left in the backup
 * container and none kept by this run's plan — so copies follow the same daily/weekly/monthly rules, pins and
 * drill holds as the backups they copy, and a backup retention stepped back from keeps its copy too. Blobs first,
 * the copy's manifest last (a copy container lists only complete copies, as copyBackup writes them). A copy the
 * container refuses to delete because it is immutable (a WORM policy not yet expired, a legal hold) is exactly
 * what an immutable copy is for: it is reported under `retained` with the storage's reason, and the run goes on.
 */
export async function applyCopyRetention(
  copies: ContainerClient,
  backups: ContainerClient,
  keep: ReadonlySet<string>,
  options: { dryRun: boolean; hsmName?: string },
): Promise<CopyRetentionOutcome> {
  const where = copies.url.split("?")[0] ?? "";
  const candidates: string[] = [];
  try {
    for await (const item of copies.listBlobsFlat({ prefix: MANIFEST_PREFIX })) {
      const folder = folderOfManifestBlob(item.name);
      if (folder === undefined || keep.has(folder)) continue;
      if (options.hsmName !== undefined && !folder.startsWith(`mhsm-${options.hsmName}-`)) continue;
      if (await backups.getBlobClient(manifestBlobName(folder)).exists()) continue; // its backup is still there
      candidates.push(folder);
    }
  } catch (e) {
    throw storageFailure(e, "listing the backup copies", `${where}/${MANIFEST_PREFIX}`);
  }
  if (options.dryRun) return { deleted: candidates, retained: [] };
  const deleted: string[] = [];
  const retained: CopyRetentionOutcome["retained"] = [];
  for (const folder of candidates) {
    try {
      const names: string[] = [];
      for await (const blob of copies.listBlobsFlat({ prefix: `${folder}/` })) names.push(blob.name);
      for (const name of [...names, manifestBlobName(folder)]) {
        await copies.deleteBlob(name).catch((e: { statusCode?: number }) => {
          if (e.statusCode !== 404) throw e;
        });
      }
      deleted.push(folder);
    } catch (e) {
      const code = String((e as { code?: string }).code ?? "");
      if ((e as { statusCode?: number }).statusCode === 409 && IMMUTABLE.test(code)) {
        retained.push({ folder, reason: `the copy container keeps it: ${code} (immutable storage; deleted on a later run once the policy allows)` });
        continue;
      }
      throw storageFailure(e, `deleting the copy of the retired backup ${folder}`, `${where}/${folder}`);
    }
  }
  return { deleted, retained };
}
