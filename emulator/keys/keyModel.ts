/**
 * Persisted shapes of keys, versions, deleted keys and rotation policies (all times in unix seconds,
 * the service's wire unit). These records hold PRIVATE key material: they live only in the state dir and
 * in instance snapshots (full backup), and are turned into public wire shapes by keyBundle.ts.
 */
import type { PrivateJwk } from "../crypto/keyMaterial";

export interface StoredReleasePolicy {
  contentType: string;
  /** base64url of the policy JSON, as on the wire. */
  data: string;
  immutable: boolean;
}

export interface StoredKeyVersion {
  version: string;
  /** Wire kty, e.g. "RSA-HSM" on a Managed HSM. */
  kty: string;
  keyOps: string[];
  jwk: PrivateJwk;
  enabled: boolean;
  nbf?: number;
  exp?: number;
  created: number;
  updated: number;
  exportable: boolean;
  tags?: Record<string, string>;
  releasePolicy?: StoredReleasePolicy;
}

export interface StoredLifetimeAction {
  trigger: { timeAfterCreate?: string; timeBeforeExpiry?: string };
  action: { type: "Rotate" | "Notify" };
}

export interface StoredRotationPolicy {
  lifetimeActions: StoredLifetimeAction[];
  expiryTime?: string;
  created: number;
  updated: number;
}

export interface StoredKey {
  name: string;
  /** Oldest first; the last one is the current ("latest") version. */
  versions: StoredKeyVersion[];
  rotationPolicy?: StoredRotationPolicy;
}

export interface StoredDeletedKey {
  key: StoredKey;
  deletedDate: number;
  scheduledPurgeDate: number;
}

export function latestVersion(key: StoredKey): StoredKeyVersion {
  const last = key.versions[key.versions.length - 1];
  if (last === undefined) throw new Error(`Key ${key.name} has no versions (corrupt state).`);
  return last;
}
