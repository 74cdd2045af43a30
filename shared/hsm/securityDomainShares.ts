/**
 * Recombines the Shamir shares of a Managed HSM security-domain file: GF(257), one uint16 per secret byte,
 * `(x << 9) | y` little-endian (Azure CLI's `security_domain/shared_secret.py` format). Lagrange interpolation
 * at 0 over exactly `required` shares. No library implements this field and encoding, hence hand-written.
 */
const P = 257;

function mul(a: number, b: number): number {
  return (a * b) % P;
}

function inverse(a: number): number {
  // a^(p−2) mod p (Fermat); p is prime.
  let result = 1;
  let base = a % P;
  for (let e = P - 2; e > 0; e >>= 1) {
    if (e & 1) result = mul(result, base);
    base = mul(base, base);
  }
  return result;
}

/** The secret behind `required` distinct shares; throws when they are malformed or do not fit together. */
export function combineShares(shares: readonly Uint8Array[], required: number): Buffer {
  if (shares.length < required) throw new Error(`${shares.length} share(s) given; this security domain needs ${required}.`);
  const used = shares.slice(0, required).map((s) => Buffer.from(s));
  const length = used[0]?.length ?? 0;
  if (length === 0 || length % 2 !== 0 || used.some((s) => s.length !== length)) throw new Error("The decrypted shares have different or odd lengths: they are not shares of one security domain.");
  const secret = Buffer.alloc(length / 2);
  for (let b = 0; b < secret.length; b++) {
    const points = used.map((s) => {
      const w = s.readUInt16LE(b * 2);
      return { x: w >> 9, y: w & 0x1ff };
    });
    if (new Set(points.map((p) => p.x)).size !== points.length || points.some((p) => p.x === 0 || p.y >= P)) {
      throw new Error("The decrypted shares repeat a custodian or are malformed: they are not distinct shares of one security domain.");
    }
    let value = 0;
    for (const [i, pi] of points.entries()) {
      let num = 1;
      let den = 1;
      for (const [j, pj] of points.entries()) {
        if (i === j) continue;
        num = mul(num, pj.x);
        den = mul(den, (pj.x - pi.x + P) % P);
      }
      value = (value + mul(pi.y, mul(num, inverse(den)))) % P;
    }
    if (value > 255) throw new Error("The decrypted shares do not fit together: they come from different security domain files.");
    secret[b] = value;
  }
  return secret;
}
