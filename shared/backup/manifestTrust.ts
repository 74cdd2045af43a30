import type { BackupManifest } from "./backupManifest";
import type { ManifestAuthenticator } from "./manifestAuthenticator";

/**
 * The trust checks retention, verification, copies and drills apply to a backup before acting on it. Each
 * returns why the backup must be ignored, or undefined. The MAC inputs are fixed here, in one place, so the
 * writer and every reader agree.
 */

/** Metadata names of the MACs on a manifest blob (Azure lower-cases metadata names). */
export const manifestMacKeys = { record: "recordmac", verified: "verifiedmac", reverified: "reverifiedmac" } as const;

/** A folder as Managed HSM names it: `mhsm-{hsm}-{yyyyMMddHHmmss}{hundredths}`; captures the HSM name. */
const FOLDER = /^mhsm-([A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)-(\d{16})$/;

/** The HSM name in a well-formed backup folder name, or undefined when the name is not one. */
export function folderHsmName(folder: string): string | undefined {
  return FOLDER.exec(folder)?.[1];
}

/** MAC of a manifest's content: its digest covers everything else. */
export function manifestMac(auth: ManifestAuthenticator, digest: string): string {
  return auth.mac(["manifest", digest]);
}

/** MAC of the identity retention and drills read from a manifest blob's metadata (one list call, no download). */
export function recordMac(auth: ManifestAuthenticator, r: { hsmName: string; folder: string; jobId: string; completedAt: string }): string {
  return auth.mac(["record", r.hsmName, r.folder, r.jobId, r.completedAt]);
}

/** MAC of a verified mark: only `verifyBackup` (which holds the key) can make a backup count as verified. */
export function verifiedMac(auth: ManifestAuthenticator, folder: string, verifiedAt: string): string {
  return auth.mac(["verified", folder, verifiedAt]);
}

/**
 * MAC of a re-verification record (when, and whether it passed): a storage writer can delete the record but not
 * forge one, so `status` and the drills' fallback reports show only results this app wrote.
 */
export function reverifiedMac(auth: ManifestAuthenticator, folder: string, at: string, result: "passed" | "failed"): string {
  return auth.mac(["reverified", folder, at, result]);
}

/**
 * Why a parsed (digest-checked) manifest must not be trusted, or undefined: its MAC, then its folder — a
 * well-formed folder of its own HSM (by configured name or the HSM's resource name, the host's first label),
 * exactly inside the configured backup container, so no manifest can point a restore (and a SAS) elsewhere.
 */
export function manifestProblem(manifest: BackupManifest, auth: ManifestAuthenticator, containerUrl: string): string | undefined {
  if (!auth.verify(["manifest", manifest.digest.value], manifest.digest.mac)) {
    return "its MAC does not match (not written by this app with BACKUP_MANIFEST_KEY, or altered since)";
  }
  const { folder, folderUrl } = manifest.backup;
  const hsmInFolder = folderHsmName(folder)?.toLowerCase();
  let label = "";
  try {
    label = new URL(manifest.hsm.url).hostname.split(".")[0]?.toLowerCase() ?? "";
  } catch {
    return `its HSM URL "${manifest.hsm.url}" is not a URL`;
  }
  if (hsmInFolder === undefined || (hsmInFolder !== manifest.hsm.name.toLowerCase() && hsmInFolder !== label)) {
    return `its folder "${folder}" is not mhsm-<hsm>-<timestamp> of HSM "${manifest.hsm.name}"`;
  }
  const container = containerUrl.split("?")[0]?.replace(/\/+$/, "") ?? "";
  if (manifest.backup.containerUrl !== container || folderUrl !== `${container}/${folder}`) {
    return `its folder URL ${folderUrl.split("?")[0] ?? ""} is not ${container}/${folder} (outside BACKUP_CONTAINER)`;
  }
  return undefined;
}
