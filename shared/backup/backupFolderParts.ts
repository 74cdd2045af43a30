import { LifecycleError } from "../errors/lifecycleError";

/**
 * Splits a backup folder URL (`<container URL>/<folder>`, as a backup job returns it) and drops any query
 * string, so the result can be stored in manifests and durable history without a SAS.
 */
export function backupFolderParts(folderUri: string): { containerUrl: string; folder: string; folderUrl: string } {
  const plain = folderUri.split("?")[0] ?? "";
  const cut = plain.replace(/\/+$/, "").lastIndexOf("/");
  const folder = plain.slice(cut + 1).replace(/\/+$/, "");
  if (cut <= 0 || !isBackupFolderName(folder)) {
    throw new LifecycleError("BadParameter", `'${plain}' is not a backup folder URL (expected <container URL>/<folder> with a folder like mhsm-<name>-<timestamp>). Fix: pass the folderUri the backup job returned.`);
  }
  const containerUrl = plain.slice(0, cut);
  return { containerUrl, folder, folderUrl: `${containerUrl}/${folder}` };
}

/** A folder name the service (and the emulator) writes: `mhsm-<hsm>-<yyyyMMddHHmmssff>`; nothing with a slash. */
export function isBackupFolderName(folder: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/.test(folder);
}
