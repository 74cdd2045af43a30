import { constants, createPublicKey, publicEncrypt, randomBytes, timingSafeEqual, verify, type KeyObject } from "node:crypto";
import type { CryptographyClient, KeyVaultKey } from "../../hsm/keyClients";
import type { ConfiguredRotationInstance } from "./deps";
import { rotationFailure } from "./failure";

/** The outcome of a crypto round trip on one exact key version. A failure is a value: it blocks retirement. */
export type ProbeResult =
  | { kind: "verified"; keyId: string; checks: string[] }
  | {
      kind: "failed";
      keyId: string;
      reason: string;
      checks: string[];
      /** "unusable": disabled, expired, not yet valid or key_ops forbid it (state); "broken": the crypto itself is wrong. */
      cause: "unusable" | "broken";
      /** The service's code when it refused the version by its state (KeyDisabled, KeyExpired, KeyNotYetValid, KeyOperationForbidden). */
      refusedAs?: string;
    };

export interface ProbeOptions {
  /** "all" (default): every round trip the key_ops allow; "one": the first only (one HSM request for RSA and EC). */
  roundTrips?: "one" | "all";
  /**
   * Which RSA round trip comes first: "sign" (default; what a new version is used for first) or "unwrap"
   * (what a previous version is still needed for: data wrapped to it before the rotation).
   */
  prefer?: "sign" | "unwrap";
}

/** Service answers that say "this version cannot be used", not "you may not": a failed probe, not a role problem. */
const unusableCodes = new Set(["KeyDisabled", "KeyExpired", "KeyNotYetValid", "KeyOperationForbidden"]);

/**
 * The round trips that fit the key's type and key_ops, against the exact version, with every half that needs
 * no private key done HERE on the public key the service returned (node:crypto), as a consumer would:
 * RSA — remote sign + local verify (RS256) and local wrap + remote unwrap (RSA-OAEP-256), or local encrypt +
 * remote decrypt when only those are allowed; EC — remote sign + local verify with the curve's algorithm;
 * oct-HSM — remote encrypt + remote decrypt (AES-GCM; a symmetric key has no public half), or AES-KW wrap +
 * unwrap when only those are allowed. So a mismatch between the HSM's private key and the published public key
 * is caught. HSM requests: EC 1, RSA 2 (1 if only one pair is allowed, or with `roundTrips: "one"`), oct 2 (+1 per
 * AES size tried first).
 * The local verify is node's, not the SDK's (whose local PS* verify is wrong), and a tampered-data check runs
 * locally too, so a verifier that accepts anything is caught at no cost. Probe data is random and never logged.
 *
 * `crypto` must be built from the key object (not an id), so the SDK sends no GET of its own.
 * Throws `LifecycleError` for missing roles, throttling and outages (durable retries those); returns
 * `failed` when the version itself does not work.
 */
export async function probeKeyVersion(key: KeyVaultKey, crypto: CryptographyClient, instance: ConfiguredRotationInstance, options: ProbeOptions = {}): Promise<ProbeResult> {
  const keyId = key.id ?? "";
  const kty = (key.keyType ?? key.key?.kty ?? "").toString();
  const ops = new Set<string>(key.keyOperations ?? key.key?.keyOps ?? []);
  const can = (a: string, b: string): boolean => ops.has(a) && ops.has(b);
  const checks: string[] = [];
  const failed = (reason: string, cause: "unusable" | "broken" = "unusable"): ProbeResult => ({ kind: "failed", keyId, reason, checks, cause });
  if (key.properties.enabled === false) return failed("the version is disabled");

  const step = async (name: string, run: () => Promise<string | undefined>): Promise<ProbeResult | undefined> => {
    try {
      const problem = await run();
      if (problem === undefined) {
        checks.push(name);
        return undefined;
      }
      return failed(`${name}: ${problem}`, "broken");
    } catch (e) {
      const reason = unusable(e);
      if (reason === undefined) throw rotationFailure(e, instance, `probe ${name}`, keyPath(keyId));
      const code = innerCode((e as { details?: unknown }).details);
      const out = failed(`${name}: ${reason}`);
      return code !== undefined && unusableCodes.has(code) && out.kind === "failed" ? { ...out, refusedAs: code } : out;
    }
  };

  const planned: [string, () => Promise<string | undefined>][] = [];
  if (kty.startsWith("RSA")) {
    const pub = () => publicKeyOf(key, "RSA");
    const signing: [string, () => Promise<string | undefined>] = ["sign/verify RS256", () => signVerify(crypto, pub, "RS256")];
    const wrapping: [string, () => Promise<string | undefined>] = ["wrap/unwrap RSA-OAEP-256", () => rsaWrapUnwrap(crypto, pub)];
    const pairs = options.prefer === "unwrap" ? [[can("wrapKey", "unwrapKey"), wrapping], [can("sign", "verify"), signing]] as const : [[can("sign", "verify"), signing], [can("wrapKey", "unwrapKey"), wrapping]] as const;
    for (const [allowed, round] of pairs) if (allowed) planned.push(round);
    if (planned.length === 0 && can("encrypt", "decrypt")) planned.push(["encrypt/decrypt RSA-OAEP-256", () => rsaEncryptDecrypt(crypto, pub)]);
  } else if (kty.startsWith("EC")) {
    const alg = ({ "P-256": "ES256", "P-256K": "ES256K", "P-384": "ES384", "P-521": "ES512" } as const)[(key.key?.crv ?? "") as "P-256"];
    if (alg === undefined) return failed(`EC curve "${key.key?.crv ?? "unknown"}" has no signature algorithm to probe with`);
    if (can("sign", "verify")) planned.push([`sign/verify ${alg}`, () => signVerify(crypto, () => publicKeyOf(key, "EC"), alg)]);
  } else if (kty.startsWith("oct")) {
    // Both halves are remote for a symmetric HSM key, so one round trip is the cost; the other is not repeated.
    if (can("encrypt", "decrypt")) planned.push(["encrypt/decrypt AES-GCM", () => aesBySize((bits) => gcmRoundTrip(crypto, bits))]);
    else if (can("wrapKey", "unwrapKey")) planned.push(["wrap/unwrap AES-KW", () => aesBySize((bits) => aesWrapUnwrap(crypto, `A${bits}KW` as "A256KW"))]);
  } else {
    return failed(`key type "${kty || "unknown"}" is not one the probes know`);
  }
  if (planned.length === 0) {
    return failed(`key_ops [${[...ops].join(", ")}] allow no round trip for ${kty} (need sign+verify, wrapKey+unwrapKey or encrypt+decrypt)`);
  }
  // One private-key round trip proves the HSM's private key matches the published public key; a second
  // operation on the same key proves only that key_ops allow it, which the service enforces anyway.
  if (options.roundTrips === "one") planned.splice(1);
  for (const [name, run] of planned) {
    const outcome = await step(name, run);
    if (outcome !== undefined) return outcome;
  }
  return { kind: "verified", keyId, checks };
}

const digestOf = { RS256: "sha256", ES256: "sha256", ES256K: "sha256", ES384: "sha384", ES512: "sha512" } as const;

async function signVerify(crypto: CryptographyClient, pub: () => KeyObject | string, alg: keyof typeof digestOf): Promise<string | undefined> {
  const key = pub();
  if (typeof key === "string") return key;
  const data = randomBytes(64);
  const signed = await crypto.signData(alg, data);
  // JWS signatures: RSASSA-PKCS1-v1_5 for RS*, r||s (IEEE P1363) for ES*.
  const options = alg === "RS256" ? { key, padding: constants.RSA_PKCS1_PADDING } : { key, dsaEncoding: "ieee-p1363" as const };
  if (!verify(digestOf[alg], data, options, signed.result)) return "the signature made by the service does not verify with the published public key";
  const tampered = Buffer.from(data);
  tampered[0] = (tampered[0] ?? 0) ^ 0xff;
  return verify(digestOf[alg], tampered, options, signed.result) ? "a signature over different data verifies too" : undefined;
}

async function rsaWrapUnwrap(crypto: CryptographyClient, pub: () => KeyObject | string): Promise<string | undefined> {
  const key = pub();
  if (typeof key === "string") return key;
  const secret = randomBytes(32);
  const wrapped = publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" }, secret);
  const unwrapped = await crypto.unwrapKey("RSA-OAEP-256", wrapped);
  return same(secret, unwrapped.result) ? undefined : "the HSM did not unwrap what the published public key wrapped";
}

async function aesWrapUnwrap(crypto: CryptographyClient, alg: "A128KW" | "A192KW" | "A256KW"): Promise<string | undefined> {
  const secret = randomBytes(32);
  const wrapped = await crypto.wrapKey(alg, secret);
  const unwrapped = await crypto.unwrapKey(alg, wrapped.result);
  return same(secret, unwrapped.result) ? undefined : "the unwrapped key differs from the wrapped one";
}

/** The version's public key as node sees it, or the reason there is none (a "broken" probe, not a crash). */
function publicKeyOf(key: KeyVaultKey, family: "RSA" | "EC"): KeyObject | string {
  const jwk = key.key;
  const b64 = (v: Uint8Array | undefined): string | undefined => (v === undefined ? undefined : Buffer.from(v).toString("base64url"));
  try {
    if (family === "RSA") {
      const n = b64(jwk?.n);
      const e = b64(jwk?.e);
      if (n === undefined || e === undefined) return "the service returned no public key (n, e) for the version";
      return createPublicKey({ key: { kty: "RSA", n, e }, format: "jwk" });
    }
    const x = b64(jwk?.x);
    const y = b64(jwk?.y);
    if (x === undefined || y === undefined) return "the service returned no public key (x, y) for the version";
    const crv = jwk?.crv === "P-256K" ? "secp256k1" : String(jwk?.crv);
    return createPublicKey({ key: { kty: "EC", crv, x, y }, format: "jwk" });
  } catch (e) {
    return `the published public key is not a valid ${family} key: ${e instanceof Error ? e.message : String(e)}`;
  }
}

async function rsaEncryptDecrypt(crypto: CryptographyClient, pub: () => KeyObject | string): Promise<string | undefined> {
  const key = pub();
  if (typeof key === "string") return key;
  const plaintext = randomBytes(32);
  const ciphertext = publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" }, plaintext);
  const decrypted = await crypto.decrypt({ algorithm: "RSA-OAEP-256", ciphertext });
  return same(plaintext, decrypted.result) ? undefined : "the HSM did not decrypt what the published public key encrypted";
}

async function gcmRoundTrip(crypto: CryptographyClient, bits: 128 | 192 | 256): Promise<string | undefined> {
  const algorithm = `A${bits}GCM` as const;
  const plaintext = randomBytes(48);
  const aad = randomBytes(16);
  const encrypted = await crypto.encrypt({ algorithm, plaintext, additionalAuthenticatedData: aad });
  if (encrypted.iv === undefined || encrypted.authenticationTag === undefined) return "the service returned no iv or authentication tag";
  const decrypted = await crypto.decrypt({ algorithm, ciphertext: encrypted.result, iv: encrypted.iv, authenticationTag: encrypted.authenticationTag, additionalAuthenticatedData: aad });
  return same(plaintext, decrypted.result) ? undefined : "decrypt did not return the plaintext";
}

/**
 * oct-HSM keys do not disclose their size (no `k`, no key_size on the wire), so the AES algorithms are tried
 * from 256 bits down; the service rejects a size mismatch with 400 before doing any crypto.
 */
async function aesBySize(run: (bits: 128 | 192 | 256) => Promise<string | undefined>): Promise<string | undefined> {
  const sizes = [256, 192, 128] as const;
  for (const bits of sizes) {
    try {
      return await run(bits);
    } catch (e) {
      const err = e as { statusCode?: number };
      if (err.statusCode !== 400 || bits === 128) throw e;
    }
  }
  return undefined;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The reason text when the service (or the SDK's own validity check) says the version is unusable. */
function unusable(e: unknown): string | undefined {
  const err = e as { name?: string; statusCode?: number; code?: string; message?: string; details?: unknown };
  const inner = innerCode(err.details);
  if (err.statusCode === 403 && inner !== undefined && unusableCodes.has(inner)) return `${inner}: ${short(err.message)}`;
  if (err.statusCode === 400) return `rejected by the service (${err.code ?? "BadParameter"}): ${short(err.message)}`;
  // The SDK checks nbf/exp/key_ops itself before a local operation and throws a plain Error.
  if (err.statusCode === undefined && err.name === "Error" && /expired at|can't be used before|is not supported on key/.test(err.message ?? "")) return short(err.message);
  return undefined;
}

function innerCode(details: unknown): string | undefined {
  const error = (details as { error?: { innerError?: { code?: unknown }; innererror?: { code?: unknown } } } | undefined)?.error;
  const code = error?.innerError?.code ?? error?.innererror?.code;
  return typeof code === "string" ? code : undefined;
}

function short(text: string | undefined): string {
  const t = (text ?? "").split("\n")[0] ?? "";
  return t.length > 200 ? `${t.slice(0, 200)}…` : t;
}

function keyPath(keyId: string): string {
  const i = keyId.indexOf("/keys/");
  return i === -1 ? keyId : keyId.slice(i + "/keys/".length);
}
