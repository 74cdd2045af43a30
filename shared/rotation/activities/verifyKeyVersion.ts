import { LifecycleError } from "../../errors/lifecycleError";
import type { KeyVaultKey } from "../../hsm/keyClients";
import { probeKeyVersion } from "./cryptoProbe";
import { configuredInstance, type ConfiguredRotationInstance, type RotationDeps, type RotationInstance } from "./deps";
import { rotationFailure } from "./failure";
import { keyFromFacts, sameVersion, versionFactsOf, type VersionFacts } from "./keyFacts";
import { writeKeyVersionRecord } from "./writeKeyVersionRecord";

export interface VerifyKeyVersionInput {
  instance: RotationInstance;
  name: string;
  /** The new version: it must work before anything is retired. */
  version: string;
  /** The new version as the rotate returned it (`RotatedVersion.newKey`): then no GET is sent for it. */
  key?: VersionFacts;
  /** The version it replaces: it is exercised with one round trip (see `exercisePrevious`). */
  previousVersion?: string;
  /** The replaced version as the rotate's GET or the key's version record gave it (`RotatedVersion.previousKey`): then no GET is sent for it. */
  previousKey?: VersionFacts;
  /**
   * Round trips on the new version: "one" (the rotation: one HSM request for RSA and EC) or "all" (default:
   * every pair the key_ops allow, for a version made outside hsm-lifecycle).
   */
  roundTrips?: "one" | "all";
  /**
   * Record `key` as the key's current version (the rotation that created it passes `rotatedFrom`): written beside
   * the probes, so the next rotation takes the public key from there and sends no GET (`KeyVersionRecords`).
   */
  recordAs?: { rotatedFrom?: string };
}

/**
 * `verified`: one private-key round trip on the previous version worked against its published public key
 * (RSA: wrapped locally, unwrapped on the HSM, when key_ops allow; else signed on the HSM, verified locally).
 * `failed`: that round trip did not work (the version is broken or unusable for a reason its state did not show).
 * `skipped`: disabled, expired, not yet valid or key_ops narrowed, as the service last returned it: it cannot be
 * exercised, and that is not the new version's fault.
 */
export type PreviousCheck =
  | { kind: "verified"; keyId: string; checks: string[] }
  | { kind: "failed"; keyId: string; reason: string; checks: string[] }
  | { kind: "skipped"; keyId: string; reason: string };

export type VerifyKeyVersionOutput =
  | { kind: "verified"; keyId: string; checks: string[]; previous?: PreviousCheck }
  | { kind: "failed"; keyId: string; reason: string; checks: string[]; previous?: PreviousCheck };

/**
 * Verifies the new key version on the service with the round trip that fits its type and key_ops (see
 * `probeKeyVersion`), against the exact version id, and exercises the version it replaced. `failed` is a value:
 * the orchestration then publishes KeyRotationFailed and retires nothing. A previous version that fails is
 * reported (`previous.kind === "failed"`), not a failed rotation: the new version works, and the old one is
 * left enabled for a person to look at. Missing roles, throttling and outages are thrown as `LifecycleError`s.
 *
 * Given the facts the rotate already returned (`key`, `previousKey`) it sends no GET: with `roundTrips: "one"`
 * a rotation of an RSA or EC key costs two HSM requests here (one on each version), of an oct-HSM key four.
 * Both versions are probed at once.
 */
export async function verifyKeyVersion(input: VerifyKeyVersionInput, deps: RotationDeps): Promise<VerifyKeyVersionOutput> {
  const { name } = input;
  const instance = configuredInstance(input.instance, deps, "verifyKeyVersion");
  // The crypto clients follow the key ids (new AND previous version): each must name a key of the configured
  // instance, never another host. Checked before any request, so a refused input calls nothing.
  for (const [which, facts] of [["new", input.key], ["previous", input.previousKey]] as const) {
    if (facts !== undefined && !facts.keyId.toLowerCase().startsWith(`${instance.url.toLowerCase()}/keys/`)) {
      throw new LifecycleError("BadParameter", `verifyKeyVersion: the key id in the input is not a key of "${instance.name}" (${instance.url}) (the ${which} version's); refused without calling it. Fix: pass the facts the rotate returned for that instance.`);
    }
  }
  const current = input.key !== undefined && sameVersion(input.key.version, input.version) ? keyFromFacts(input.key) : await readVersion(instance, name, input.version, deps);
  const previousVersion = input.previousVersion;
  const recordAs = input.recordAs;
  const [probe, previous] = await Promise.all([
    probeKeyVersion(current, deps.clients.crypto(current), instance, { roundTrips: input.roundTrips ?? "all", prefer: "sign" }),
    previousVersion === undefined || sameVersion(previousVersion, input.version) ? Promise.resolve(undefined) : exercisePrevious(input, instance, previousVersion, deps),
    // The version as the service returned it is true whatever the probe finds (a failed one is current all the same).
    recordAs === undefined || input.key === undefined || !sameVersion(input.key.version, input.version)
      ? Promise.resolve()
      : writeKeyVersionRecord(instance, name, deps, { current: input.key, ...(recordAs.rotatedFrom === undefined ? {} : { rotatedFrom: recordAs.rotatedFrom }) }),
  ]);

  const withPrevious = <T extends object>(o: T): T & { previous?: PreviousCheck } => (previous === undefined ? o : { ...o, previous });
  if (previous?.kind === "failed") deps.log?.(`verify ${instance.name}/${name}: previous version ${previous.keyId} FAILED its round trip: ${previous.reason}`);
  if (probe.kind === "failed") {
    deps.log?.(`verify ${instance.name}/${name}/${input.version}: FAILED: ${probe.reason}`);
    return withPrevious({ kind: "failed" as const, keyId: probe.keyId, reason: probe.reason, checks: probe.checks });
  }
  return withPrevious({ kind: "verified" as const, keyId: probe.keyId, checks: probe.checks });
}

/**
 * The previous version is EXERCISED, not only read: consumers still unwrap data wrapped to it (and verify its
 * signatures with its public key) during the grace period, so one private-key round trip on the HSM, checked
 * against the public key the service published for it, proves it still does what they need. RSA prefers
 * unwrap (local wrap, HSM unwrap) for that reason; EC signs. One request: the public half is local.
 */
async function exercisePrevious(input: VerifyKeyVersionInput, instance: ConfiguredRotationInstance, previousVersion: string, deps: RotationDeps): Promise<PreviousCheck> {
  const { name } = input;
  const old = input.previousKey !== undefined && sameVersion(input.previousKey.version, previousVersion) ? input.previousKey : versionFactsOf(await readVersion(instance, name, previousVersion, deps));
  const state = checkPrevious(old, deps.now?.() ?? new Date());
  if (state.kind === "skipped") return state;
  const key = keyFromFacts(old);
  const probe = await probeKeyVersion(key, deps.clients.crypto(key), instance, { roundTrips: "one", prefer: "unwrap" });
  // The state given may be older than the service's (the key's version record is as of the last rotation): a
  // version the service refuses by its state (disabled, expired, restricted since) is skipped as above, not broken.
  if (probe.kind === "failed" && probe.refusedAs !== undefined) return { kind: "skipped", keyId: old.keyId, reason: `the service refused it: ${probe.reason}` };
  if (probe.kind === "failed") return { kind: "failed", keyId: old.keyId, reason: probe.reason, checks: probe.checks };
  return { kind: "verified", keyId: old.keyId, checks: probe.checks };
}

/**
 * Whether the previous version can be exercised at all, from its state as the service last returned it: a
 * version already disabled, expired, not yet valid or without a round-trip pair of key_ops is `skipped`
 * (its probe would only be refused). Otherwise `usable`, and `exercisePrevious` runs the round trip.
 */
export function checkPrevious(old: VersionFacts, now: Date): { kind: "usable"; keyId: string } | Extract<PreviousCheck, { kind: "skipped" }> {
  const keyId = old.keyId;
  if (old.enabled === false) return { kind: "skipped", keyId, reason: "KeyDisabled: the previous version is already disabled" };
  if (old.expiresOn !== undefined && Date.parse(old.expiresOn) <= now.getTime()) return { kind: "skipped", keyId, reason: `KeyExpired: the previous version expired at ${old.expiresOn}` };
  if (old.notBefore !== undefined && Date.parse(old.notBefore) > now.getTime()) return { kind: "skipped", keyId, reason: `KeyNotYetValid: the previous version is not valid before ${old.notBefore}` };
  const ops = new Set(old.keyOps);
  const pairs = [
    ["sign", "verify"],
    ["wrapKey", "unwrapKey"],
    ["encrypt", "decrypt"],
  ] as const;
  if (!pairs.some(([a, b]) => ops.has(a) && ops.has(b))) {
    return { kind: "skipped", keyId, reason: `KeyOperationForbidden: key_ops [${old.keyOps.join(", ")}] allow no round trip` };
  }
  return { kind: "usable", keyId };
}

async function readVersion(instance: ConfiguredRotationInstance, name: string, version: string, deps: RotationDeps): Promise<KeyVaultKey> {
  try {
    return await deps.clients.keys(instance.url).getKey(name, { version });
  } catch (e) {
    throw rotationFailure(e, instance, "getKey", `${name}/${version}`);
  }
}
