import { LifecycleError } from "../../errors/lifecycleError";
import type { KeyVaultKey } from "../../hsm/keyClients";
import { probeKeyVersion } from "./cryptoProbe";
import { configuredInstance, type ConfiguredRotationInstance, type RotationDeps, type RotationInstance } from "./deps";
import { rotationFailure } from "./failure";
import { keyFromFacts, versionFactsOf, type VersionFacts } from "./keyFacts";

export interface VerifyKeyVersionInput {
  instance: RotationInstance;
  name: string;
  /** The new version: it must work before anything is retired. */
  version: string;
  /** The new version as the rotate returned it (`RotatedVersion.newKey`): then no GET is sent for it. */
  key?: VersionFacts;
  /** The version it replaces: its state (enabled, validity, key_ops) is checked; see `checkPrevious`. */
  previousVersion?: string;
  /** The replaced version as the rotate's GET returned it (`RotatedVersion.previousKey`): then no GET is sent for it. */
  previousKey?: VersionFacts;
}

/**
 * `usable`: enabled, inside nbf/exp and its key_ops still allow a round trip, as the service last returned it.
 * `skipped`: disabled, expired, not yet valid or key_ops narrowed: it cannot be exercised, and that is not the
 * new version's fault (as before: an unusable previous version never failed a rotation).
 */
export type PreviousCheck = { kind: "usable"; keyId: string; checks: string[] } | { kind: "skipped"; keyId: string; reason: string };

export type VerifyKeyVersionOutput =
  | { kind: "verified"; keyId: string; checks: string[]; previous?: PreviousCheck }
  | { kind: "failed"; keyId: string; reason: string; checks: string[]; previous?: PreviousCheck };

/**
 * Verifies the new key version on the service with the round trip that fits its type and key_ops (see
 * `probeKeyVersion`), against the exact version id. `failed` is a value: the orchestration then publishes
 * KeyRotationFailed and retires nothing. Missing roles, throttling and outages are thrown as `LifecycleError`s.
 *
 * Given the facts the rotate already returned (`key`, `previousKey`) it sends no GET: a rotation of an EC key
 * then costs one HSM request here (sign), of an RSA key two (sign, unwrap), of an oct-HSM key two (encrypt,
 * decrypt).
 */
export async function verifyKeyVersion(input: VerifyKeyVersionInput, deps: RotationDeps): Promise<VerifyKeyVersionOutput> {
  const { name } = input;
  const instance = configuredInstance(input.instance, deps, "verifyKeyVersion");
  // The crypto client follows the key id: it must name a key of the configured instance, never another host.
  if (input.key !== undefined && !input.key.keyId.toLowerCase().startsWith(`${instance.url.toLowerCase()}/keys/`)) {
    throw new LifecycleError("BadParameter", `verifyKeyVersion: the key id in the input is not a key of "${instance.name}" (${instance.url}); refused without calling it. Fix: pass the facts the rotate returned for that instance.`);
  }
  const current = input.key !== undefined && sameVersion(input.key.version, input.version) ? keyFromFacts(input.key) : await readVersion(instance, name, input.version, deps);
  const probe = await probeKeyVersion(current, deps.clients.crypto(current), instance);

  let previous: PreviousCheck | undefined;
  if (input.previousVersion !== undefined && !sameVersion(input.previousVersion, input.version)) {
    const old = input.previousKey !== undefined && sameVersion(input.previousKey.version, input.previousVersion) ? input.previousKey : versionFactsOf(await readVersion(instance, name, input.previousVersion, deps));
    previous = checkPrevious(old, deps.now?.() ?? new Date());
  }

  const withPrevious = <T extends object>(o: T): T & { previous?: PreviousCheck } => (previous === undefined ? o : { ...o, previous });
  if (probe.kind === "failed") {
    deps.log?.(`verify ${instance.name}/${name}/${input.version}: FAILED: ${probe.reason}`);
    return withPrevious({ kind: "failed" as const, keyId: probe.keyId, reason: probe.reason, checks: probe.checks });
  }
  return withPrevious({ kind: "verified" as const, keyId: probe.keyId, checks: probe.checks });
}

/**
 * The previous version is checked for STATE, not with another crypto round trip, on purpose:
 * - a rotation creates a new version and touches nothing of the old one, so a round trip on it would only
 *   re-prove what was proven when it became current (its own rotation's probe, or the drill's probes);
 * - what the rotation must not do is retire before the NEW version is proven: that proof is kept in full;
 * - during the grace period consumers still verify / unwrap with the old version; what would break them
 *   quietly is a version disabled, expired or with narrowed key_ops — all visible in the GET the rotate made;
 * - a round trip per previous version would double the HSM requests of every rotation (the sweep's budget:
 *   list pages + 6 per rotated key), and at retirement the version is only disabled, so probing it there
 *   proves nothing useful either.
 */
export function checkPrevious(old: VersionFacts, now: Date): PreviousCheck {
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
  const usable = pairs.filter(([a, b]) => ops.has(a) && ops.has(b)).map(([a, b]) => `${a}/${b} allowed`);
  if (usable.length === 0) {
    return { kind: "skipped", keyId, reason: `KeyOperationForbidden: key_ops [${old.keyOps.join(", ")}] allow no round trip` };
  }
  return { kind: "usable", keyId, checks: ["enabled", "within nbf/exp", ...usable] };
}

function sameVersion(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

async function readVersion(instance: ConfiguredRotationInstance, name: string, version: string, deps: RotationDeps): Promise<KeyVaultKey> {
  try {
    return await deps.clients.keys(instance.url).getKey(name, { version });
  } catch (e) {
    throw rotationFailure(e, instance, "getKey", `${name}/${version}`);
  }
}
