import { LifecycleError } from "../../errors/lifecycleError";
import type { KeyVaultKey } from "../../hsm/keyClients";
import { addDuration, parseIsoDuration } from "../isoDuration";
import { configuredInstance, type ConfiguredRotationInstance, type RotationDeps, type RotationInstance } from "./deps";
import { ensureRotationPolicy } from "./ensurePolicy";
import { rotationFailure } from "./failure";
import { sameVersion, versionFactsOf, type VersionFacts } from "./keyFacts";
import type { KeyVersionRecord, KeyVersionRecords } from "./keyVersionRecords";
import { writeKeyVersionRecord } from "./writeKeyVersionRecord";

export interface RotateKeyVersionInput {
  instance: RotationInstance;
  name: string;
  /** The version the rotation instance id names (`rotate:{vault}:{key}:{version}`): rotate only while it is current. */
  fromVersion: string;
  /** The rule's `newVersionExpiry`: the new version expires this long after its creation. */
  newVersionExpiry?: string;
  /**
   * The creation slot the caller already claimed and waited for (`reserveCreateSlot` + a durable timer), ISO.
   * Absent: this call claims one and waits for it itself.
   */
  slotAt?: string;
  /**
   * `false`: the listing that named `fromVersion` is recent (the orchestration decides: within
   * `FRESH_LISTING_MS`), so when the key's version record names it as current too, the key is not read before
   * the rotate and the record supplies the previous version's public key. Absent or `true`: the key is read
   * first (GET), as for an input nobody listed (the CLI, an old orchestration).
   */
  confirmCurrent?: boolean;
}

export interface RotatedVersion {
  name: string;
  previousVersion: string;
  version: string;
  /** Exact versioned id, for the probes and the KeyRotated event. */
  keyId: string;
  createdOn?: string;
  expiresOn?: string;
  keyType?: string;
  keyOps: string[];
  /** Whether this call changed the new version's expiry to the policy's. */
  expirySet: boolean;
  /** The new version as the service returned it (public key, key_ops, state): `verifyKeyVersion` probes it without a GET. */
  newKey: VersionFacts;
  /**
   * The version replaced (only when this call rotated), from the GET before the rotate or from the key's version
   * record: exercised without another request. Absent for `alreadyRotated`, whose GET returned the newer version.
   */
  previousKey?: VersionFacts;
  /** Where `previousKey` came from: "service" (the GET) or "record" (its state may be older than the service's). */
  previousFrom?: "service" | "record";
}

/**
 * `rotated`: this call created the new version. `alreadyRotated`: the key's current version is no longer
 * `fromVersion` (an earlier attempt of this same rotation, the service, or a person made one), so nothing
 * is rotated again; the orchestration verifies that version instead.
 */
export type RotateKeyVersionOutput = ({ kind: "rotated"; policy: RotationPolicyCheck } & RotatedVersion) | ({ kind: "alreadyRotated" } & RotatedVersion);

/**
 * "matched": the rotate's answer showed the configured expiry, so the policy was not read. "unchanged" / "updated":
 * it was read (the rotate was refused for want of a policy, or the new version's expiry differed) and written if needed.
 */
export type RotationPolicyCheck = "matched" | "unchanged" | "updated";

/**
 * Creates a new version of one key on demand (`KeyClient.rotateKey`) and sets its expiry per policy.
 * Idempotent for the deterministic rotation id: a durable retry after a crash between "rotated" and
 * "recorded" sees the key already moved on and reports `alreadyRotated`, so a key never rotates twice
 * for the same version. Throws `LifecycleError` (role, not found, throttled…) for everything else.
 */
export async function rotateKeyVersion(input: RotateKeyVersionInput, deps: RotationDeps): Promise<RotateKeyVersionOutput> {
  const { name, fromVersion } = input;
  const instance = configuredInstance(input.instance, deps, "rotateKeyVersion");
  if (fromVersion.trim() === "") {
    throw new LifecycleError("BadParameter", `rotateKeyVersion for ${instance.name}/${name} got no fromVersion. Fix: pass the version the rotation id names (from listDueKeys or the event).`);
  }
  const client = deps.clients.keys(instance.url);
  let previous: { facts: VersionFacts; from: "service" | "record" } | undefined;
  if (input.confirmCurrent === false && deps.versionRecords !== undefined) {
    // The listing says fromVersion is current. The key's record (what the last rotation created) supplies that
    // version's public key, and the claim of fromVersion's one rotate shows whether an earlier attempt may have
    // rotated already (it claimed first): only then, or without a matching record, is the key read.
    // A re-run is never answered from the record alone (a key restored from a backup can be back at a version the
    // record says was rotated away): its claim is taken, so it reads the key like any other doubt.
    const [record, claimed] = await Promise.all([readRecord(input, instance, deps.versionRecords, deps), claimRotate(input, instance, deps.versionRecords, deps)]);
    if (claimed && record !== undefined && sameVersion(record.current.version, fromVersion)) previous = { facts: record.current, from: "record" };
  }
  if (previous === undefined) {
    let current: KeyVaultKey;
    try {
      current = await client.getKey(name);
    } catch (e) {
      throw rotationFailure(e, instance, "getKey", name);
    }
    const currentVersion = current.properties.version ?? "";
    if (!sameVersion(currentVersion, fromVersion)) {
      // Someone moved the key on already; only an expiry that is missing altogether is filled in, so a
      // deliberate expiry chosen by whoever rotated is left alone.
      const fill = current.properties.expiresOn === undefined;
      const final = fill ? await applyExpiry(current, instance, input, deps) : current;
      deps.log?.(`rotate ${instance.name}/${name}: already at ${currentVersion} (not ${fromVersion}); not rotating again`);
      await writeKeyVersionRecord(instance, name, deps, { current: versionFactsOf(final) });
      return { kind: "alreadyRotated", ...describe(final, fromVersion, fill && final !== current) };
    }
    previous = { facts: versionFactsOf(current), from: "service" };
  }

  // The create is what an HSM partition does about once a second: wait for this HSM's next slot first, so
  // the sweep, events and the CLI together never ask for more than it can do (see `CreatePacer`).
  if (input.slotAt === undefined) await deps.createPacer?.reserve(instance);
  else {
    // A durable timer fires at or after its time; this only guards a clock a little behind the orchestration's.
    const early = Date.parse(input.slotAt) - Date.now();
    if (early > 0) await new Promise((r) => setTimeout(r, Math.min(early, 1000)));
  }
  let rotated: KeyVaultKey;
  let policy: RotationPolicyCheck = "matched";
  try {
    rotated = await client.rotateKey(name);
  } catch (e) {
    if (!needsPolicyFirst(e, instance)) throw rotationFailure(e, instance, "rotateKey", name);
    // Managed HSM refuses an on-demand rotate until the key has a rotation policy: set it and retry once.
    policy = (await ensurePolicy(input, deps)).kind;
    try {
      rotated = await client.rotateKey(name);
    } catch (e2) {
      throw rotationFailure(e2, instance, "rotateKey", name);
    }
  }
  // The service stamps the policy's expiryTime on the version it creates, so the rotate's answer shows whether
  // the policy is as configured: read and write the policy only when it is not (a key's first rotation, or
  // someone changed it). Steady state: no policy request at all.
  if (policy === "matched" && !expiryAsConfigured(rotated, input.newVersionExpiry)) policy = (await ensurePolicy(input, deps)).kind;
  const final = await applyExpiry(rotated, instance, input, deps);
  deps.log?.(`rotated ${instance.name}/${name}: ${fromVersion} -> ${rotated.properties.version ?? "?"}`);
  return { kind: "rotated", ...describe(final, fromVersion, final !== rotated), previousKey: previous.facts, previousFrom: previous.from, policy };
}

/**
 * The key's version record, or nothing: a record that cannot be read or fails its authentication only costs
 * the GET it would have saved (logged, so someone tampering with the container is seen), never the rotation.
 */
async function readRecord(input: RotateKeyVersionInput, instance: ConfiguredRotationInstance, records: KeyVersionRecords, deps: RotationDeps): Promise<KeyVersionRecord | undefined> {
  try {
    const read = await records.read(instance.name, input.name);
    if (read.problem !== undefined) deps.log?.(`rotate ${instance.name}/${input.name}: version record ignored: ${read.problem}; the key is read from the service instead`);
    return read.record !== undefined && sameVersion(read.record.current.name, input.name) ? read.record : undefined;
  } catch (e) {
    deps.log?.(`rotate ${instance.name}/${input.name}: version record unreadable (${e instanceof Error ? e.message : String(e)}); the key is read from the service instead`);
    return undefined;
  }
}

/** The claim of fromVersion's rotate; `false` (read the key first) when taken before or storage failed. */
async function claimRotate(input: RotateKeyVersionInput, instance: ConfiguredRotationInstance, records: KeyVersionRecords, deps: RotationDeps): Promise<boolean> {
  try {
    const claimed = await records.claimRotate(instance.name, input.name, input.fromVersion);
    if (!claimed) deps.log?.(`rotate ${instance.name}/${input.name}: an earlier attempt claimed the rotate of ${input.fromVersion}; the key is read first`);
    return claimed;
  } catch (e) {
    deps.log?.(`rotate ${instance.name}/${input.name}: rotate claim not written (${e instanceof Error ? e.message : String(e)}); the key is read first`);
    return false;
  }
}

function ensurePolicy(input: RotateKeyVersionInput, deps: RotationDeps): ReturnType<typeof ensureRotationPolicy> {
  const ensure: Parameters<typeof ensureRotationPolicy>[0] = { instance: input.instance, name: input.name };
  if (input.newVersionExpiry !== undefined) ensure.newVersionExpiry = input.newVersionExpiry;
  return ensureRotationPolicy(ensure, deps);
}

/** The new version's expiry is what the configured policy stamps: createdOn + newVersionExpiry (±1 s), or none. */
function expiryAsConfigured(key: KeyVaultKey, newVersionExpiry: string | undefined): boolean {
  const { createdOn, expiresOn } = key.properties;
  if (newVersionExpiry === undefined) return expiresOn === undefined;
  if (createdOn === undefined || expiresOn === undefined) return false;
  return Math.abs(addDuration(createdOn, parseIsoDuration(newVersionExpiry)).getTime() - expiresOn.getTime()) < 1000;
}

/** Sets `expiresOn = createdOn + newVersionExpiry` unless it already is that (within a second). */
async function applyExpiry(key: KeyVaultKey, instance: ConfiguredRotationInstance, input: RotateKeyVersionInput, deps: RotationDeps): Promise<KeyVaultKey> {
  if (input.newVersionExpiry === undefined || key.properties.createdOn === undefined || key.properties.version === undefined) return key;
  const wanted = addDuration(key.properties.createdOn, parseIsoDuration(input.newVersionExpiry));
  const has = key.properties.expiresOn?.getTime();
  if (has !== undefined && Math.abs(has - wanted.getTime()) < 1000) return key;
  try {
    return await deps.clients.keys(instance.url).updateKeyProperties(input.name, key.properties.version, { expiresOn: wanted });
  } catch (e) {
    throw rotationFailure(e, instance, "updateKeyProperties (set expiry)", `${input.name}/${key.properties.version}`);
  }
}

function describe(key: KeyVaultKey, previousVersion: string, expirySet: boolean): RotatedVersion {
  const facts = versionFactsOf(key);
  const out: RotatedVersion = { name: facts.name, previousVersion, version: facts.version, keyId: facts.keyId, keyOps: [...facts.keyOps], expirySet, newKey: facts };
  if (facts.createdOn !== undefined) out.createdOn = facts.createdOn;
  if (facts.expiresOn !== undefined) out.expiresOn = facts.expiresOn;
  if (facts.kty !== "") out.keyType = facts.kty;
  return out;
}

function needsPolicyFirst(e: unknown, instance: ConfiguredRotationInstance): boolean {
  const err = e as { statusCode?: number; message?: string };
  return instance.kind === "managedHsm" && err.statusCode === 400 && /rotation policy/i.test(err.message ?? "");
}
