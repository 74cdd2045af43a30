/**
 * Shamir secret sharing over GF(257), byte by byte, in the share format of the Managed HSM security-domain
 * file (Azure CLI's `security_domain/shared_secret.py`): custodian i (x = 1..N, in certificate order) gets,
 * for every secret byte, the uint16 `(x << 9) | f(x)` with f of degree required−1 and f(0) = the byte; a share
 * is those uint16 values little-endian. No library implements this field and encoding, hence hand-written.
 * Unlike the CLI, every byte gets fresh random coefficients.
 */
import { randomInt } from "node:crypto";

const P = 257;

export function splitSecret(secret: Uint8Array, shares: number, required: number): Buffer[] {
  if (!Number.isInteger(shares) || !Number.isInteger(required) || required < 2 || required > shares || shares > 126) {
    throw new Error(`Cannot split a secret into ${shares} shares with quorum ${required}.`);
  }
  const out = Array.from({ length: shares }, () => Buffer.alloc(secret.length * 2));
  for (let b = 0; b < secret.length; b++) {
    // f(x) = c[0]·x^(k−1) + … + c[k−2]·x + secret  (Horner order, as the CLI evaluates it)
    const coefficients = Array.from({ length: required - 1 }, () => randomInt(P));
    coefficients.push(secret[b] as number);
    for (let i = 0; i < shares; i++) {
      const x = i + 1;
      let v = 0;
      for (const c of coefficients) v = (v * x + c) % P;
      (out[i] as Buffer).writeUInt16LE((x << 9) | v, b * 2);
    }
  }
  return out;
}
