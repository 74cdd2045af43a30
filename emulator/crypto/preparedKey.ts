/**
 * JWK → ready-to-use key (node KeyObject, EC scalar/point, AES bytes), cached.
 *
 * Why a cache: `createPrivateKey({format: "jwk"})` parses and checks an RSA key on every call (~hundreds of µs for
 * RSA-2048, as much as the signature itself), and the emulator's sign throughput target depends on not doing that per
 * request. Lookup is by object identity first (the key store hands us the same object every time), then by the JWK's
 * content (a store that re-reads or clones its entries still hits), bounded so a long run cannot grow it forever.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { fromBase64Url } from "./base64url.js";
import { CryptoInputError } from "./cryptoInputError.js";
import { bytesToBigInt, type AffinePoint } from "./ecdsa.js";
import { CURVES, isEcCurveName, type CurveParams } from "./ellipticCurves.js";
import type { JwkKty, PrivateJwk, PublicJwk } from "./jwk.js";

export type PreparedKey =
  | { readonly kind: "RSA"; readonly privateKey?: KeyObject; readonly publicKey: KeyObject; readonly modulusBits: number }
  | { readonly kind: "EC"; readonly curve: CurveParams; readonly d?: bigint; readonly q: AffinePoint }
  | { readonly kind: "oct"; readonly k: Buffer };

const MAX_CONTENT_ENTRIES = 2048;
const byObject = new WeakMap<object, PreparedKey>();
const byContent = new Map<string, PreparedKey>();

/** "RSA-HSM" → "RSA" etc., so a JWK with the HSM spelling works too. */
export function baseKty(kty: unknown): JwkKty | undefined {
  switch (kty) {
    case "RSA":
    case "RSA-HSM":
      return "RSA";
    case "EC":
    case "EC-HSM":
      return "EC";
    case "oct":
    case "oct-HSM":
      return "oct";
    default:
      return undefined;
  }
}

function contentKey(jwk: PrivateJwk): string {
  // Every member takes part: two JWKs that differ anywhere must never share a prepared key.
  const members: readonly (keyof PrivateJwk)[] = ["kty", "n", "e", "d", "p", "q", "dp", "dq", "qi", "crv", "x", "y", "k"];
  return members.map((m) => jwk[m] ?? "").join(".");
}

function remember(jwk: object, key: string, prepared: PreparedKey): void {
  byObject.set(jwk, prepared);
  if (byContent.size >= MAX_CONTENT_ENTRIES) {
    const oldest = byContent.keys().next();
    if (!oldest.done) byContent.delete(oldest.value);
  }
  byContent.set(key, prepared);
}

/** Lets key generation hand over the KeyObjects it already has, so the first operation is as fast as the rest. */
export function rememberPreparedKey(jwk: PrivateJwk, prepared: PreparedKey): void {
  remember(jwk, contentKey(jwk), prepared);
}

export function prepareKey(jwk: PrivateJwk | PublicJwk): PreparedKey {
  const cached = byObject.get(jwk);
  if (cached) return cached;
  const key = contentKey(jwk);
  const hit = byContent.get(key);
  if (hit) {
    byObject.set(jwk, hit);
    return hit;
  }
  const prepared = build(jwk);
  remember(jwk, key, prepared);
  return prepared;
}

function member(jwk: PrivateJwk, name: keyof PrivateJwk): string {
  const value = jwk[name];
  if (typeof value !== "string" || value.length === 0) {
    throw new CryptoInputError(`The ${jwk.kty} key is missing JWK member "${name}".`);
  }
  return value;
}

function build(jwk: PrivateJwk): PreparedKey {
  const kty = baseKty(jwk.kty);
  if (kty === "RSA") {
    const n = member(jwk, "n");
    const e = member(jwk, "e");
    const hasPrivate = typeof jwk.d === "string";
    try {
      const privateKey = hasPrivate
        ? createPrivateKey({
            key: {
              kty: "RSA", n, e,
              d: member(jwk, "d"), p: member(jwk, "p"), q: member(jwk, "q"),
              dp: member(jwk, "dp"), dq: member(jwk, "dq"), qi: member(jwk, "qi"),
            },
            format: "jwk",
          })
        : undefined;
      const publicKey = privateKey ? createPublicKey(privateKey) : createPublicKey({ key: { kty: "RSA", n, e }, format: "jwk" });
      const modulusBits = publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
      return privateKey ? { kind: "RSA", privateKey, publicKey, modulusBits } : { kind: "RSA", publicKey, modulusBits };
    } catch (err) {
      if (err instanceof CryptoInputError) throw err;
      throw new CryptoInputError(`The RSA key material is not a valid RSA key (${(err as Error).message}).`);
    }
  }
  if (kty === "EC") {
    const crv = jwk.crv;
    if (!isEcCurveName(crv)) {
      throw new CryptoInputError(`The EC key has unsupported curve ${JSON.stringify(crv)}; use P-256, P-384, P-521 or P-256K.`);
    }
    const curve = CURVES[crv];
    const q = { x: bytesToBigInt(fromBase64Url(member(jwk, "x"), "x")), y: bytesToBigInt(fromBase64Url(member(jwk, "y"), "y")) };
    const d = typeof jwk.d === "string" ? bytesToBigInt(fromBase64Url(jwk.d, "d")) : undefined;
    return d === undefined ? { kind: "EC", curve, q } : { kind: "EC", curve, d, q };
  }
  if (kty === "oct") {
    return { kind: "oct", k: fromBase64Url(member(jwk, "k"), "k") };
  }
  throw new CryptoInputError(`Unsupported key type ${JSON.stringify(jwk.kty)}; use RSA, EC or oct.`);
}
