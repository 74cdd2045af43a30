import type { KeyProperties, KeyVaultKey } from "../../hsm/keyClients";
import type { KeyListing } from "../keyListing";

/**
 * A list-page `KeyProperties` as the JSON-safe `KeyListing` shared/rotation decides on (dates as ISO text,
 * because activity results cross the durable boundary as JSON). `version` is kept only when the page has one.
 */
export function toKeyListing(p: KeyProperties): KeyListing {
  const listing: KeyListing = { name: p.name };
  if (p.version !== undefined && p.version !== "") listing.version = p.version;
  if (p.tags !== undefined) listing.tags = { ...p.tags };
  if (p.enabled !== undefined) listing.enabled = p.enabled;
  if (p.createdOn !== undefined) listing.createdOn = p.createdOn.toISOString();
  if (p.expiresOn !== undefined) listing.expiresOn = p.expiresOn.toISOString();
  if (p.managed !== undefined) listing.managed = p.managed;
  return listing;
}

/**
 * The version a versionless GET returns: the most recently created one. `created` has one-second
 * resolution on the wire, so two versions made in the same second (a rotation right after a create) cannot
 * be told apart from a listing: then `ambiguous` is set and the caller asks the service (`getKey`).
 */
export function currentOf<T extends { version?: string; createdOn?: Date | string }>(versions: readonly T[]): { latest?: T; ambiguous: boolean } {
  let latest: T | undefined;
  let latestMs = -Infinity;
  let ambiguous = false;
  for (const v of versions) {
    if (v.version === undefined || v.version === "") continue;
    const ms = v.createdOn === undefined ? Number.NaN : new Date(v.createdOn).getTime();
    if (Number.isNaN(ms)) {
      ambiguous = true;
      continue;
    }
    if (ms > latestMs) {
      latest = v;
      latestMs = ms;
      ambiguous = false;
    } else if (ms === latestMs) ambiguous = true;
  }
  return latest === undefined ? { ambiguous } : { latest, ambiguous };
}

/** `https://host[:port]/keys/{name}/{version}`: the exact id a probe or an event must name. */
export function versionedKeyId(instanceUrl: string, name: string, version: string): string {
  return `${instanceUrl.replace(/\/+$/, "")}/keys/${name}/${version}`;
}

/**
 * One key version as the service returned it, JSON-safe (public JWK members as base64url, dates as ISO text),
 * so an activity can hand it to the next one across the durable boundary and the next one need not GET it
 * again. Public material only: never a private member.
 */
export interface VersionFacts {
  /** Exact versioned id. */
  keyId: string;
  name: string;
  version: string;
  kty: string;
  keyOps: string[];
  enabled?: boolean;
  notBefore?: string;
  expiresOn?: string;
  createdOn?: string;
  n?: string;
  e?: string;
  crv?: string;
  x?: string;
  y?: string;
}

/** The facts of a key the SDK returned (getKey, rotateKey, updateKeyProperties). */
export function versionFactsOf(key: KeyVaultKey): VersionFacts {
  const p = key.properties;
  const jwk = key.key;
  const facts: VersionFacts = {
    keyId: key.id ?? "",
    name: key.name,
    version: p.version ?? "",
    kty: String(key.keyType ?? jwk?.kty ?? ""),
    keyOps: [...(key.keyOperations ?? jwk?.keyOps ?? [])],
  };
  if (p.enabled !== undefined) facts.enabled = p.enabled;
  if (p.notBefore !== undefined) facts.notBefore = p.notBefore.toISOString();
  if (p.expiresOn !== undefined) facts.expiresOn = p.expiresOn.toISOString();
  if (p.createdOn !== undefined) facts.createdOn = p.createdOn.toISOString();
  if (jwk?.n !== undefined) facts.n = Buffer.from(jwk.n).toString("base64url");
  if (jwk?.e !== undefined) facts.e = Buffer.from(jwk.e).toString("base64url");
  if (jwk?.crv !== undefined) facts.crv = jwk.crv;
  if (jwk?.x !== undefined) facts.x = Buffer.from(jwk.x).toString("base64url");
  if (jwk?.y !== undefined) facts.y = Buffer.from(jwk.y).toString("base64url");
  return facts;
}

/**
 * The SDK's `KeyVaultKey` again, for `CryptographyClient`: given a key (not an id) it sends no GET, checks
 * key_ops and nbf/exp itself, and sends the private-key operations to the exact version.
 */
export function keyFromFacts(facts: VersionFacts): KeyVaultKey {
  const b = (v: string | undefined): Uint8Array | undefined => (v === undefined ? undefined : Buffer.from(v, "base64url"));
  const i = facts.keyId.indexOf("/keys/");
  const properties: KeyProperties = {
    id: facts.keyId,
    name: facts.name,
    version: facts.version,
    vaultUrl: i === -1 ? "" : facts.keyId.slice(0, i),
    ...(facts.createdOn === undefined ? {} : { createdOn: new Date(facts.createdOn) }),
  };
  if (facts.enabled !== undefined) properties.enabled = facts.enabled;
  if (facts.notBefore !== undefined) properties.notBefore = new Date(facts.notBefore);
  if (facts.expiresOn !== undefined) properties.expiresOn = new Date(facts.expiresOn);
  const jwk: NonNullable<KeyVaultKey["key"]> = { kid: facts.keyId, kty: facts.kty as never, keyOps: facts.keyOps as never };
  const n = b(facts.n);
  const e = b(facts.e);
  const x = b(facts.x);
  const y = b(facts.y);
  if (n !== undefined) jwk.n = n;
  if (e !== undefined) jwk.e = e;
  if (facts.crv !== undefined) jwk.crv = facts.crv as never;
  if (x !== undefined) jwk.x = x;
  if (y !== undefined) jwk.y = y;
  return { id: facts.keyId, name: facts.name, key: jwk, keyType: facts.kty as never, keyOperations: facts.keyOps as never, properties };
}

/** Key Vault version ids compare case-insensitively (the service answers in lower case, inputs may not be). */
export function sameVersion(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
