/**
 * ECDSA over a caller-supplied digest, by @noble/curves (audited) with `prehash: false`.
 *
 * Why not node:crypto: Key Vault's `sign`/`verify` receive a DIGEST (the SDK hashes locally), but node's
 * `crypto.sign(alg, data, ecKey)` always hashes its input again (with `null` too: it uses SHA-256 for EC keys),
 * and neither node nor WebCrypto offers a prehashed ECDSA mode (test/unit/cryptoKeyOperations.test.ts shows it).
 *
 * Signatures are raw `r‖s`, each left-padded to the curve's byte length (IEEE P1363 / JWS), not DER. High-S
 * signatures are accepted and may be produced (plain ECDSA as an HSM does it, not Bitcoin's low-S rule), and
 * nonces are hedged with fresh randomness, so signing the same digest twice gives different signatures, as
 * the service's do.
 */
import type { CurveParams } from "./ellipticCurves.js";

export interface AffinePoint {
  readonly x: bigint;
  readonly y: bigint;
}

export function bytesToBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt("0x" + Buffer.from(bytes).toString("hex"));
}

export function bigIntToBytes(value: bigint, length: number): Buffer {
  const hex = value.toString(16).padStart(length * 2, "0");
  if (hex.length > length * 2) throw new RangeError(`value does not fit in ${length} bytes`);
  return Buffer.from(hex, "hex");
}

/** d·G, or undefined when d is not in [1, n-1]. */
export function multiplyBase(c: CurveParams, d: bigint): AffinePoint | undefined {
  if (d <= 0n || d >= c.n) return undefined;
  return c.ecdsa.Point.BASE.multiply(d).toAffine();
}

export function isOnCurve(c: CurveParams, P: AffinePoint): boolean {
  try {
    c.ecdsa.Point.fromAffine(P).assertValidity();
    return true;
  } catch {
    return false;
  }
}

/** SEC1 uncompressed public key bytes (0x04 ‖ x ‖ y). */
function publicKeyBytes(c: CurveParams, Q: AffinePoint): Uint8Array {
  return Buffer.concat([Buffer.of(4), bigIntToBytes(Q.x, c.byteLength), bigIntToBytes(Q.y, c.byteLength)]);
}

export function ecdsaSignDigest(c: CurveParams, d: bigint, digest: Uint8Array): Buffer {
  return Buffer.from(c.ecdsa.sign(digest, bigIntToBytes(d, c.byteLength), { prehash: false, lowS: false, extraEntropy: true, format: "compact" }));
}

export function ecdsaVerifyDigest(c: CurveParams, Q: AffinePoint, digest: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 2 * c.byteLength) return false;
  try {
    return c.ecdsa.verify(signature, digest, publicKeyBytes(c, Q), { prehash: false, lowS: false, format: "compact" });
  } catch {
    return false;
  }
}
