/**
 * ECDSA over a caller-supplied digest, in BigInt arithmetic.
 *
 * Why not node:crypto: Key Vault's `sign`/`verify` receive a DIGEST (the SDK hashes locally), but node's
 * `crypto.sign(alg, data, ecKey)` always hashes its input again (even with `null`), and neither node nor WebCrypto
 * offers a prehashed ECDSA mode. So this file implements ECDSA (FIPS 186-4 §6.4) directly. It is not constant-time;
 * it serves an emulator whose keys are test keys, never production secrets.
 *
 * Signatures are raw `r‖s`, each left-padded to the curve's byte length (IEEE P1363 / JWS), not DER.
 */
import { randomBytes } from "node:crypto";
import type { CurveParams } from "./ellipticCurves.js";

/** Jacobian coordinates (X/Z², Y/Z³); z = 0 is the point at infinity. */
interface JacobianPoint {
  readonly x: bigint;
  readonly y: bigint;
  readonly z: bigint;
}

export interface AffinePoint {
  readonly x: bigint;
  readonly y: bigint;
}

const INFINITY: JacobianPoint = { x: 0n, y: 1n, z: 0n };

function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

/** Modular inverse by the extended Euclidean algorithm (much faster than a^(m-2) in BigInt). */
export function invert(a: bigint, m: bigint): bigint {
  let r0 = m;
  let r1 = mod(a, m);
  if (r1 === 0n) throw new RangeError("0 has no modular inverse");
  let t0 = 0n;
  let t1 = 1n;
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [t0, t1] = [t1, t0 - q * t1];
  }
  if (r0 !== 1n) throw new RangeError("value is not invertible modulo m");
  return mod(t0, m);
}

export function bytesToBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt("0x" + Buffer.from(bytes).toString("hex"));
}

export function bigIntToBytes(value: bigint, length: number): Buffer {
  const hex = value.toString(16).padStart(length * 2, "0");
  if (hex.length > length * 2) throw new RangeError(`value does not fit in ${length} bytes`);
  return Buffer.from(hex, "hex");
}

function double(c: CurveParams, P: JacobianPoint): JacobianPoint {
  if (P.z === 0n || P.y === 0n) return INFINITY;
  const p = c.p;
  const xx = (P.x * P.x) % p;
  const yy = (P.y * P.y) % p;
  const yyyy = (yy * yy) % p;
  const zz = (P.z * P.z) % p;
  const s = (4n * P.x * yy) % p;
  const m = c.a === 0n ? (3n * xx) % p : (3n * xx + c.a * ((zz * zz) % p)) % p;
  const x3 = mod(m * m - 2n * s, p);
  const y3 = mod(m * (s - x3) - 8n * yyyy, p);
  const z3 = (2n * P.y * P.z) % p;
  return { x: x3, y: y3, z: z3 };
}

function add(c: CurveParams, P: JacobianPoint, Q: JacobianPoint): JacobianPoint {
  if (P.z === 0n) return Q;
  if (Q.z === 0n) return P;
  const p = c.p;
  const z1z1 = (P.z * P.z) % p;
  // Q is affine (z = 1) for every precomputed table entry: skip its Z powers.
  const qAffine = Q.z === 1n;
  const z2z2 = qAffine ? 1n : (Q.z * Q.z) % p;
  const u1 = qAffine ? P.x : (P.x * z2z2) % p;
  const u2 = (Q.x * z1z1) % p;
  const s1 = qAffine ? P.y : (P.y * Q.z * z2z2) % p;
  const s2 = (Q.y * P.z * z1z1) % p;
  const h = mod(u2 - u1, p);
  const r = mod(s2 - s1, p);
  if (h === 0n) return r === 0n ? double(c, P) : INFINITY;
  const hh = (h * h) % p;
  const hhh = (h * hh) % p;
  const v = (u1 * hh) % p;
  const x3 = mod(r * r - hhh - 2n * v, p);
  const y3 = mod(r * (v - x3) - s1 * hhh, p);
  const z3 = qAffine ? (P.z * h) % p : (P.z * Q.z * h) % p;
  return { x: x3, y: y3, z: z3 };
}

function toAffine(c: CurveParams, P: JacobianPoint): AffinePoint | undefined {
  if (P.z === 0n) return undefined;
  const zInv = invert(P.z, c.p);
  const zInv2 = (zInv * zInv) % c.p;
  return { x: (P.x * zInv2) % c.p, y: (P.y * zInv2 * zInv) % c.p };
}

function fromAffine(P: AffinePoint): JacobianPoint {
  return { x: P.x, y: P.y, z: 1n };
}

/** 4-bit windows: table[i][j] = j · 16^i · P (affine), so a scalar multiple is one addition per nibble. */
type CombTable = JacobianPoint[][];

function buildCombTable(c: CurveParams, P: AffinePoint): CombTable {
  const windows = Math.ceil(c.nBits / 4);
  const table: CombTable = [];
  let base = fromAffine(P);
  for (let i = 0; i < windows; i++) {
    const row: JacobianPoint[] = [INFINITY];
    let acc = INFINITY;
    for (let j = 1; j < 16; j++) {
      acc = add(c, acc, base);
      const affine = toAffine(c, acc);
      row.push(affine ? fromAffine(affine) : INFINITY);
    }
    table.push(row);
    for (let d = 0; d < 4; d++) base = double(c, base);
  }
  return table;
}

function combMultiply(c: CurveParams, table: CombTable, k: bigint): JacobianPoint {
  let acc = INFINITY;
  for (let i = 0; i < table.length && k > 0n; i++, k >>= 4n) {
    const nibble = Number(k & 15n);
    if (nibble !== 0) acc = add(c, acc, table[i]![nibble]!);
  }
  return acc;
}

// One comb table per curve for G (built on first use: ~10-60 ms once, then every k·G is ~nBits/4 additions).
const baseTables = new Map<string, CombTable>();

function baseTable(c: CurveParams): CombTable {
  let table = baseTables.get(c.name);
  if (!table) {
    table = buildCombTable(c, { x: c.gx, y: c.gy });
    baseTables.set(c.name, table);
  }
  return table;
}

/** Plain 4-bit window multiplication for a point used once or twice (a verifier's public key). */
function windowMultiply(c: CurveParams, P: AffinePoint, k: bigint): JacobianPoint {
  const small: JacobianPoint[] = [INFINITY, fromAffine(P)];
  for (let j = 2; j < 16; j++) small.push(add(c, small[j - 1]!, small[1]!));
  let acc = INFINITY;
  const bits = k.toString(2).length;
  for (let shift = BigInt(Math.ceil(bits / 4) * 4 - 4); shift >= 0n; shift -= 4n) {
    for (let d = 0; d < 4; d++) acc = double(c, acc);
    const nibble = Number((k >> shift) & 15n);
    if (nibble !== 0) acc = add(c, acc, small[nibble]!);
  }
  return acc;
}

/** d·G in affine coordinates (public key from private scalar). */
export function multiplyBase(c: CurveParams, d: bigint): AffinePoint | undefined {
  return toAffine(c, combMultiply(c, baseTable(c), mod(d, c.n)));
}

export function isOnCurve(c: CurveParams, P: AffinePoint): boolean {
  if (P.x < 0n || P.x >= c.p || P.y < 0n || P.y >= c.p) return false;
  const lhs = (P.y * P.y) % c.p;
  const rhs = mod(P.x * P.x * P.x + c.a * P.x + c.b, c.p);
  return lhs === rhs;
}

/** FIPS 186-4 bits2int: the leftmost nBits of the digest as an integer. */
function digestToInteger(c: CurveParams, digest: Uint8Array): bigint {
  const e = bytesToBigInt(digest);
  const excess = digest.length * 8 - c.nBits;
  return excess > 0 ? e >> BigInt(excess) : e;
}

/** Uniform-enough nonce in [1, n-1]: 64 extra random bits make the modulo bias negligible (< 2^-64). */
function randomScalar(c: CurveParams): bigint {
  return (bytesToBigInt(randomBytes(c.byteLength + 8)) % (c.n - 1n)) + 1n;
}

export function ecdsaSignDigest(c: CurveParams, d: bigint, digest: Uint8Array): Buffer {
  const e = digestToInteger(c, digest);
  for (;;) {
    const k = randomScalar(c);
    const R = toAffine(c, combMultiply(c, baseTable(c), k));
    if (!R) continue;
    const r = R.x % c.n;
    if (r === 0n) continue;
    const s = (invert(k, c.n) * (e + r * d)) % c.n;
    if (s === 0n) continue;
    return Buffer.concat([bigIntToBytes(r, c.byteLength), bigIntToBytes(s, c.byteLength)]);
  }
}

export function ecdsaVerifyDigest(c: CurveParams, Q: AffinePoint, digest: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 2 * c.byteLength) return false;
  const r = bytesToBigInt(signature.subarray(0, c.byteLength));
  const s = bytesToBigInt(signature.subarray(c.byteLength));
  if (r <= 0n || r >= c.n || s <= 0n || s >= c.n) return false;
  const e = digestToInteger(c, digest);
  const w = invert(s, c.n);
  const u1 = (e * w) % c.n;
  const u2 = (r * w) % c.n;
  const X = toAffine(c, add(c, combMultiply(c, baseTable(c), u1), windowMultiply(c, Q, u2)));
  return X !== undefined && X.x % c.n === r;
}
