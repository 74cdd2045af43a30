import { createHash } from "node:crypto";
import { LifecycleError } from "../errors/lifecycleError";
import { canonicalJson } from "./canonicalJson";

/** Identifies the document type; bump {@link BACKUP_MANIFEST_SCHEMA_VERSION} on any breaking change. */
export const BACKUP_MANIFEST_SCHEMA = "hsm-lifecycle/backup-manifest";
export const BACKUP_MANIFEST_SCHEMA_VERSION = 2;
/** Versions {@link parseBackupManifest} still reads. v1 lacks rotation policies, role assignments and the race rule. */
export const READABLE_MANIFEST_SCHEMA_VERSIONS: readonly number[] = [1, 2];

/** One key version as a list page shows it. Never key material: list pages carry none. */
export interface ManifestKeyVersion {
  version: string;
  enabled: boolean | null;
  createdOn: string | null;
  updatedOn: string | null;
  notBefore: string | null;
  expiresOn: string | null;
  tags: Record<string, string>;
}

export interface ManifestKey {
  name: string;
  /**
   * Key type from one GET of the latest version (list pages do not carry it), or null when the per-backup
   * GET budget (Sentinel's mass-retrieval rule) was spent before this key.
   */
  kty: string | null;
  /** true when the key backs a Key Vault certificate. */
  managed: boolean;
  /**
   * v2: only versions created BEFORE the backup job started (see keyInventory). v1: every version listed
   * when the manifest was written, including any created while the job ran.
   */
  versions: ManifestKeyVersion[];
  /**
   * v2: versions created at or after the job start (a rotation during the backup): the backup may or may not
   * hold them, so a drill neither expects nor rejects them on DR.
   */
  versionsDuringBackup?: string[];
  /**
   * v2: versions in `versions` created in the same whole second as the job start (HSM timestamps are whole
   * seconds, so which side of the start they fall on is unknown): a drill accepts them present or absent.
   */
  versionsAtBackupStart?: string[];
  /** v2: the key's rotation policy as of the backup (undefined in v1 manifests). */
  rotationPolicy?: ManifestRotationPolicy;
}

/** A rotation policy without ids or timestamps (which differ per HSM); `lifetimeActions` sorted. "none" = no policy. */
export type ManifestRotationPolicy =
  | "none"
  | {
      lifetimeActions: Array<{ action: string; timeAfterCreate: string | null; timeBeforeExpiry: string | null }>;
      expiresIn: string | null;
    };

/** One role assignment of the HSM's local RBAC at backup time (what a full restore puts back). */
export interface ManifestRoleAssignment {
  scope: string;
  /** The role definition's bare GUID (the last segment of its id). */
  roleDefinitionId: string;
  principalId: string;
}

/** One blob of the backup folder; `name` is relative to the container (`{folder}/keys/k1`). */
export interface ManifestBlob {
  name: string;
  size: number;
  /** Lower-case hex SHA-256 of the blob's bytes. */
  sha256: string;
}

export interface ManifestDigest {
  algorithm: "SHA-256";
  /** How the digested bytes were produced: canonical JSON of the manifest without `digest`. */
  canonicalization: "sorted-keys-json";
  value: string;
  /** HMAC-SHA256 of `value` with BACKUP_MANIFEST_KEY (see manifestTrust): what makes the manifest authentic. */
  mac?: string;
}

/**
 * The manifest stored at `manifests/{folder}.json` next to the backup folder, in the same container.
 * The digest detects accidental changes; `digest.mac` (an HMAC with BACKUP_MANIFEST_KEY, which storage never
 * holds) makes it authentic: anyone who can write the blob can recompute the digest, not the MAC.
 */
export interface BackupManifest {
  schema: typeof BACKUP_MANIFEST_SCHEMA;
  /** 2 when written by this app; 1 for manifests written before rotation policies and role assignments. */
  schemaVersion: 1 | typeof BACKUP_MANIFEST_SCHEMA_VERSION;
  hsm: { name: string; url: string };
  backup: {
    folder: string;
    /** Folder URL without any query string (never a SAS). */
    folderUrl: string;
    containerUrl: string;
    jobId: string;
    startTime: string;
    endTime: string;
  };
  keys: ManifestKey[];
  /** v2: keys whose every version was created at or after the job start (the backup may or may not hold them). */
  keysDuringBackup?: string[];
  /**
   * v2: the HSM's role assignments, read by the backup identity (Crypto Auditor grants roleAssignments/read)
   * right after the job; null when that read was refused, with the reason in `roleAssignmentsUnavailable`.
   */
  roleAssignments?: ManifestRoleAssignment[] | null;
  roleAssignmentsUnavailable?: string;
  blobs: ManifestBlob[];
  createdAt: string;
  digest: ManifestDigest;
}

export type UnsealedManifest = Omit<BackupManifest, "digest">;

/** The blob name of a folder's manifest: outside the folder, so it is never mistaken for backup content. */
export function manifestBlobName(folder: string): string {
  return `${MANIFEST_PREFIX}${folder}.json`;
}

export const MANIFEST_PREFIX = "manifests/";

/** The folder a manifest blob name belongs to, or undefined for other blobs. */
export function folderOfManifestBlob(blobName: string): string | undefined {
  if (!blobName.startsWith(MANIFEST_PREFIX) || !blobName.endsWith(".json")) return undefined;
  const folder = blobName.slice(MANIFEST_PREFIX.length, -".json".length);
  return folder === "" || folder.includes("/") ? undefined : folder;
}

/** SHA-256 (hex) over the canonical JSON of the manifest without its `digest` member. */
export function computeManifestDigest(manifest: UnsealedManifest | BackupManifest): string {
  const { digest: _ignored, ...content } = manifest as BackupManifest;
  return createHash("sha256").update(canonicalJson(content), "utf8").digest("hex");
}

/** Sorts keys, versions and blobs (so equal content gives equal bytes) and adds the digest. */
export function sealManifest(manifest: UnsealedManifest): BackupManifest {
  const ordered: UnsealedManifest = {
    ...manifest,
    keys: [...manifest.keys]
      .sort((a, b) => compare(a.name, b.name))
      .map((k) => ({ ...k, versions: [...k.versions].sort((a, b) => compare(a.createdOn ?? "", b.createdOn ?? "") || compare(a.version, b.version)) })),
    blobs: [...manifest.blobs].sort((a, b) => compare(a.name, b.name)),
  };
  if (Array.isArray(ordered.roleAssignments)) {
    ordered.roleAssignments = [...ordered.roleAssignments].sort((a, b) => compare(roleAssignmentLine(a), roleAssignmentLine(b)));
  }
  return { ...ordered, digest: { algorithm: "SHA-256", canonicalization: "sorted-keys-json", value: computeManifestDigest(ordered) } };
}

/**
 * Parses a stored manifest and checks its schema and digest. Throws `BackupIntegrityFailed` naming what is
 * wrong, so a drill or a verification never trusts a manifest that was altered after it was written.
 */
export function parseBackupManifest(text: string, where: string): BackupManifest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new LifecycleError("BackupIntegrityFailed", `The manifest ${where} is not valid JSON (${(e as Error).message}). Fix: the manifest was damaged; treat this backup as unverified and take a new one.`);
  }
  const m = parsed as Partial<BackupManifest> | null;
  if (typeof m !== "object" || m === null || m.schema !== BACKUP_MANIFEST_SCHEMA) {
    throw new LifecycleError("BackupIntegrityFailed", `The blob ${where} is not a backup manifest (schema is not "${BACKUP_MANIFEST_SCHEMA}").`);
  }
  if (typeof m.schemaVersion !== "number" || !READABLE_MANIFEST_SCHEMA_VERSIONS.includes(m.schemaVersion)) {
    throw new LifecycleError(
      "BackupIntegrityFailed",
      `The manifest ${where} has schemaVersion ${String(m.schemaVersion)}; this app reads versions ${READABLE_MANIFEST_SCHEMA_VERSIONS.join(" and ")}. Fix: deploy the app version that wrote it.`,
    );
  }
  if (!m.hsm || !m.backup || !Array.isArray(m.keys) || !Array.isArray(m.blobs) || !m.digest || typeof m.digest.value !== "string") {
    throw new LifecycleError("BackupIntegrityFailed", `The manifest ${where} lacks hsm, backup, keys, blobs or digest.`);
  }
  const actual = computeManifestDigest(m as BackupManifest);
  if (actual !== m.digest.value) {
    throw new LifecycleError(
      "BackupIntegrityFailed",
      `The manifest ${where} was modified after it was written: its digest says ${m.digest.value.slice(0, 16)}… but its content hashes to ${actual.slice(0, 16)}…. Fix: treat this backup as unverified; restore from another verified backup.`,
    );
  }
  return m as BackupManifest;
}

/** The one-line form role assignments are compared and reported in. */
export function roleAssignmentLine(a: ManifestRoleAssignment): string {
  return `scope ${a.scope} role ${a.roleDefinitionId} principal ${a.principalId}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
