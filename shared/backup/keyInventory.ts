import type { KeyClient, KeyProperties, KeyRotationPolicy } from "@azure/keyvault-keys";
import type { ManifestKey, ManifestKeyVersion, ManifestRotationPolicy } from "./backupManifest";

export interface KeyInventoryOptions {
  /**
   * Single-key GETs allowed for the key types (list pages do not carry `kty`). Keeps the backup identity clear
   * of Sentinel's mass-secret-retrieval rule (25 single-key reads per identity per day, shared with drills).
   */
  ktyLookupLimit: number;
  /**
   * The backup job's start (HSM clock). Versions created at or after it are kept apart (see {@link keyInventory}).
   * Omitted: every listed version counts as in the backup (the v1 behaviour).
   */
  backupStartedAt?: string;
}

export interface KeyInventory {
  keys: ManifestKey[];
  /** Keys whose every version was created at or after the job start. */
  keysDuringBackup: string[];
}

/**
 * Every key and version of the HSM from list pages only (names, versions, enabled, dates, tags — list pages
 * never carry key material), each key's rotation policy (KeyRotationPolicyGet: actions and expiry, no material;
 * not a single-key GET), plus `kty` for at most `ktyLookupLimit` keys.
 *
 * Race rule: this runs after the backup job ended, so a rotation DURING the job shows up here although the
 * backup may not hold it. The inventory "before the job" is exactly the versions whose `createdOn` (HSM clock,
 * same clock as the job's startTime) precedes the job start; the listing after the job gives what still
 * exists. Only versions in both are recorded as in the backup; the others go to `versionsDuringBackup` (or, for a
 * key with no earlier version, `keysDuringBackup`), which a drill neither expects nor rejects. HSM timestamps are
 * whole seconds: a version created in the job's start second is recorded (in `versions`) but also named in
 * `versionsAtBackupStart`, because it may fall on either side of the start. Reading the "before"
 * state from timestamps rather than a listing taken before `startBackup` keeps the backup orchestration's
 * activity sequence unchanged and cannot miss a version created between that listing and the job start.
 * Changes during the job to what already existed are marked, not guessed: a version whose `updatedOn` is at or
 * after the job start is named in `versionsChangedDuringBackup` (its attributes in the backup may be the earlier
 * ones), and a rotation policy set at or after it (`updatedOn`) gets `rotationPolicyChangedDuringBackup`; a drill
 * compares neither. Limitation: a key deleted during the job is missing from the manifest.
 */
export async function keyInventory(client: KeyClient, options: KeyInventoryOptions): Promise<KeyInventory> {
  const keys: ManifestKey[] = [];
  const keysDuringBackup: string[] = [];
  // Whole seconds on both sides: the job's startTime and createdOn come from the same HSM clock in seconds.
  const startSecond = options.backupStartedAt === undefined ? undefined : Math.floor(Date.parse(options.backupStartedAt) / 1000);
  let lookups = 0;
  for await (const item of client.listPropertiesOfKeys()) {
    const versions: ManifestKeyVersion[] = [];
    const during: string[] = [];
    const atStart: string[] = [];
    const changed: string[] = [];
    for await (const v of client.listPropertiesOfKeyVersions(item.name)) {
      const second = v.createdOn === undefined ? undefined : Math.floor(v.createdOn.getTime() / 1000);
      if (startSecond !== undefined && second !== undefined && second > startSecond) {
        during.push(v.version ?? "");
        continue;
      }
      if (startSecond !== undefined && second === startSecond) atStart.push(v.version ?? "");
      if (startSecond !== undefined && v.updatedOn !== undefined && Math.floor(v.updatedOn.getTime() / 1000) >= startSecond && second !== undefined && v.updatedOn.getTime() > v.createdOn!.getTime()) changed.push(v.version ?? "");
      versions.push(toVersion(v));
    }
    if (versions.length === 0 && during.length > 0) {
      keysDuringBackup.push(item.name);
      continue;
    }
    let kty: string | null = null;
    if (lookups < options.ktyLookupLimit) {
      lookups++;
      // Only the key type is kept from this GET; the public key it returns is dropped here.
      kty = (await client.getKey(item.name)).keyType ?? null;
    }
    const policy = await rotationPolicyOf(client, item.name);
    const key: ManifestKey = { name: item.name, kty, managed: item.managed === true, versions, rotationPolicy: comparablePolicy(policy) };
    if (startSecond !== undefined) {
      key.versionsDuringBackup = during.sort();
      key.versionsAtBackupStart = atStart.sort();
      if (changed.length > 0) key.versionsChangedDuringBackup = changed.sort();
      const policySecond = policyChangedAt(policy);
      if (policySecond !== undefined && policySecond >= startSecond) key.rotationPolicyChangedDuringBackup = true;
    }
    keys.push(key);
  }
  return { keys, keysDuringBackup: keysDuringBackup.sort() };
}

/** The key's rotation policy, or undefined when the HSM has none for it. */
export async function rotationPolicyOf(client: KeyClient, name: string): Promise<KeyRotationPolicy | undefined> {
  try {
    return await client.getKeyRotationPolicy(name);
  } catch (e) {
    // Some service versions answer 404 for a key that never had a policy: the same as "no policy".
    const err = e as { statusCode?: number; code?: string };
    if (err.statusCode === 404 && err.code !== "KeyNotFound") return undefined;
    throw e;
  }
}

/** The whole second the policy was last set (HSM clock), if the service says. */
function policyChangedAt(p: KeyRotationPolicy | undefined): number | undefined {
  const at = p?.updatedOn ?? p?.createdOn;
  return at === undefined ? undefined : Math.floor(at.getTime() / 1000);
}

/** Actions and expiry only (ids and timestamps differ per HSM), actions sorted, so equal policies compare equal. */
export function comparablePolicy(p: KeyRotationPolicy | undefined): ManifestRotationPolicy {
  if (p === undefined) return "none";
  const lifetimeActions = (p.lifetimeActions ?? []).map((a) => ({ action: String(a.action), timeAfterCreate: a.timeAfterCreate ?? null, timeBeforeExpiry: a.timeBeforeExpiry ?? null }));
  lifetimeActions.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  return { lifetimeActions, expiresIn: p.expiresIn ?? null };
}

function toVersion(v: KeyProperties): ManifestKeyVersion {
  return {
    version: v.version ?? "",
    enabled: v.enabled ?? null,
    createdOn: iso(v.createdOn),
    updatedOn: iso(v.updatedOn),
    notBefore: iso(v.notBefore),
    expiresOn: iso(v.expiresOn),
    tags: { ...(v.tags ?? {}) },
  };
}

function iso(d: Date | undefined): string | null {
  return d === undefined ? null : d.toISOString();
}
