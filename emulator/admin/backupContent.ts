/**
 * What a full backup holds, and the validation every restored piece passes BEFORE anything is replaced
 * (a restore decrypts and validates everything first, so a bad backup leaves the target untouched).
 *
 * Folder layout (every blob is an encrypted envelope, see backupEnvelope.ts):
 *   <folder>/keys/<name>          one StoredKey: all versions (private JWK), attributes, tags, rotation policy
 *   <folder>/deletedkeys/<name>   one StoredDeletedKey
 *   <folder>/rbac                 role assignments + custom role definitions
 *   <folder>/manifest             written LAST: lists every blob with its SHA-256, so a partial or mixed
 *                                 folder is detected
 */
import type { StoredDeletedKey, StoredKey } from "../keys/keyModel";
import type { RbacState } from "../rbac/rbacStore";

export const BACKUP_FORMAT = "mhsm-emulator-full-backup/1";
export const MANIFEST_BLOB = "manifest";
export const RBAC_BLOB = "rbac";
export const keyBlob = (name: string): string => `keys/${name}`;
export const deletedKeyBlob = (name: string): string => `deletedkeys/${name}`;

export interface BackupContent {
  keys: StoredKey[];
  deletedKeys: StoredDeletedKey[];
  rbac: RbacState;
}

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  hsmName: string;
  /** Unix seconds (emulator time) the backup was taken. */
  createdAt: number;
  keys: string[];
  deletedKeys: string[];
  /** Blob path inside the folder → SHA-256 (hex) of the envelope text. */
  blobs: Record<string, string>;
}

/** Thrown for content that decrypts but is not what a backup contains. */
export class InvalidBackupContent extends Error {
  constructor(what: string, problem: string) {
    super(`Invalid backup provided: ${what} ${problem}. The backup is corrupt or was not written by a Managed HSM full backup; restore from an unmodified backup folder.`);
    this.name = "InvalidBackupContent";
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === "string");
const isOptionalNumber = (v: unknown): boolean => v === undefined || (typeof v === "number" && Number.isFinite(v));
const KEY_NAME = /^[0-9A-Za-z-]{1,127}$/;

export function validateManifest(value: unknown): BackupManifest {
  if (!isObject(value) || value["format"] !== BACKUP_FORMAT) throw new InvalidBackupContent("the manifest", "has an unknown format");
  if (typeof value["hsmName"] !== "string" || typeof value["createdAt"] !== "number") throw new InvalidBackupContent("the manifest", "lacks hsmName/createdAt");
  if (!isStringArray(value["keys"]) || !isStringArray(value["deletedKeys"])) throw new InvalidBackupContent("the manifest", "lacks its key lists");
  const blobs = value["blobs"];
  if (!isObject(blobs) || !Object.values(blobs).every((h) => typeof h === "string" && /^[0-9a-f]{64}$/.test(h))) {
    throw new InvalidBackupContent("the manifest", "has no valid blob list");
  }
  for (const name of [...value["keys"], ...value["deletedKeys"]]) {
    if (!KEY_NAME.test(name)) throw new InvalidBackupContent("the manifest", `names an invalid key '${name}'`);
  }
  return value as unknown as BackupManifest;
}

export function validateStoredKey(value: unknown, expectedName: string): StoredKey {
  const what = `key '${expectedName}'`;
  if (!isObject(value) || value["name"] !== expectedName) throw new InvalidBackupContent(what, "does not match its blob name");
  const versions = value["versions"];
  if (!Array.isArray(versions) || versions.length === 0) throw new InvalidBackupContent(what, "has no versions");
  const seen = new Set<string>();
  for (const v of versions) {
    if (!isObject(v)) throw new InvalidBackupContent(what, "has a malformed version");
    if (typeof v["version"] !== "string" || !/^[0-9a-f]{32}$/.test(v["version"]) || seen.has(v["version"])) {
      throw new InvalidBackupContent(what, "has a version with a missing, malformed or duplicate id");
    }
    seen.add(v["version"]);
    if (typeof v["kty"] !== "string" || !isObject(v["jwk"]) || !isStringArray(v["keyOps"])) throw new InvalidBackupContent(what, `version ${v["version"]} lacks kty/jwk/keyOps`);
    if (typeof v["enabled"] !== "boolean" || typeof v["created"] !== "number" || typeof v["updated"] !== "number") {
      throw new InvalidBackupContent(what, `version ${v["version"]} has malformed attributes`);
    }
    if (!isOptionalNumber(v["nbf"]) || !isOptionalNumber(v["exp"])) throw new InvalidBackupContent(what, `version ${v["version"]} has malformed nbf/exp`);
    if (v["tags"] !== undefined && (!isObject(v["tags"]) || !Object.values(v["tags"]).every((t) => typeof t === "string"))) {
      throw new InvalidBackupContent(what, `version ${v["version"]} has malformed tags`);
    }
  }
  const policy = value["rotationPolicy"];
  if (policy !== undefined && (!isObject(policy) || !Array.isArray(policy["lifetimeActions"]))) throw new InvalidBackupContent(what, "has a malformed rotation policy");
  return value as unknown as StoredKey;
}

export function validateStoredDeletedKey(value: unknown, expectedName: string): StoredDeletedKey {
  if (!isObject(value) || typeof value["deletedDate"] !== "number" || typeof value["scheduledPurgeDate"] !== "number") {
    throw new InvalidBackupContent(`deleted key '${expectedName}'`, "lacks deletedDate/scheduledPurgeDate");
  }
  validateStoredKey(value["key"], expectedName);
  return value as unknown as StoredDeletedKey;
}

export function validateRbac(value: unknown): RbacState {
  if (!isObject(value) || !Array.isArray(value["roleAssignments"]) || !Array.isArray(value["customRoleDefinitions"])) {
    throw new InvalidBackupContent("the role assignments", "are missing");
  }
  for (const a of value["roleAssignments"]) {
    const props = isObject(a) ? a["properties"] : undefined;
    if (!isObject(a) || typeof a["name"] !== "string" || !isObject(props) || typeof props["principalId"] !== "string" || typeof props["scope"] !== "string" || typeof props["roleDefinitionId"] !== "string") {
      throw new InvalidBackupContent("a role assignment", "is malformed");
    }
  }
  for (const d of value["customRoleDefinitions"]) {
    const props = isObject(d) ? d["properties"] : undefined;
    if (!isObject(d) || typeof d["name"] !== "string" || !isObject(props) || !Array.isArray(props["permissions"])) {
      throw new InvalidBackupContent("a custom role definition", "is malformed");
    }
  }
  return value as unknown as RbacState;
}
