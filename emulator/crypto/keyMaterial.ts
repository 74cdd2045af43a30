/**
 * Key material for the emulator's keys: generation (create), validation of imported JWKs (import), and the public
 * projection that responses carry. All members are base64url without padding, with Key Vault's wire names.
 */
import {
  constants,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  generateKeyPairSync,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  type JsonWebKey as NodeJwk,
  type KeyObject,
} from "node:crypto";
import { fromBase64Url, toBase64Url } from "./base64url.js";
import { CryptoInputError } from "./cryptoInputError.js";
import { bigIntToBytes, bytesToBigInt, isOnCurve, multiplyBase } from "./ecdsa.js";
import { CURVES, isEcCurveName } from "./ellipticCurves.js";
import type { EcCurveName, JwkKty, PrivateJwk, PublicJwk } from "./jwk.js";
import { baseKty, rememberPreparedKey } from "./preparedKey.js";
import { takeRsa2048Pair } from "./rsaKeyPool.js";

export type { EcCurveName, JwkKty, PrivateJwk, PublicJwk } from "./jwk.js";

export interface KeyGenerationOptions {
  /** RSA modulus bits (2048 | 3072 | 4096, default 2048) or oct key bits (128 | 192 | 256, default 256). */
  size?: number;
  /** EC curve (P-256 | P-384 | P-521 | P-256K, default P-256). */
  curve?: string;
  /** RSA public exponent (Key Vault's `public_exponent`), default 65537. */
  publicExponent?: number;
}

export const RSA_KEY_SIZES: readonly number[] = [2048, 3072, 4096];
export const OCT_KEY_SIZES: readonly number[] = [128, 192, 256];
export const EC_CURVES: readonly EcCurveName[] = ["P-256", "P-384", "P-521", "P-256K"];

const RSA_MEMBERS = ["n", "e", "d", "p", "q", "dp", "dq", "qi"] as const;

function rsaSize(size: number | undefined): number {
  const bits = size ?? 2048;
  if (!RSA_KEY_SIZES.includes(bits)) {
    throw new CryptoInputError(`RSA key size ${String(size)} is not supported; use 2048, 3072 or 4096.`);
  }
  return bits;
}

function publicExponent(e: number | undefined): number {
  const value = e ?? 65537;
  if (!Number.isSafeInteger(value) || value < 3 || value % 2 === 0) {
    throw new CryptoInputError(`RSA public exponent ${String(e)} is not valid; use an odd integer ≥ 3 (normally 65537).`);
  }
  return value;
}

function ecCurve(curve: string | undefined): EcCurveName {
  const name = curve ?? "P-256";
  if (!isEcCurveName(name)) {
    throw new CryptoInputError(`EC curve ${JSON.stringify(curve)} is not supported; use P-256, P-384, P-521 or P-256K.`);
  }
  return name;
}

function octSize(size: number | undefined): number {
  const bits = size ?? 256;
  if (!OCT_KEY_SIZES.includes(bits)) {
    throw new CryptoInputError(`oct key size ${String(size)} is not supported; use 128, 192 or 256 bits.`);
  }
  return bits;
}

function rsaJwkFromKeyObject(privateKey: KeyObject): PrivateJwk {
  const j = privateKey.export({ format: "jwk" }) as NodeJwk;
  const out: PrivateJwk = { kty: "RSA" };
  for (const m of RSA_MEMBERS) out[m] = String(j[m]);
  return out;
}

function ecJwkFromKeyObject(privateKey: KeyObject, crv: EcCurveName): PrivateJwk {
  const j = privateKey.export({ format: "jwk" }) as NodeJwk;
  return { kty: "EC", crv, x: String(j.x), y: String(j.y), d: String(j.d) };
}

function keyFromPair(kty: "RSA" | "EC", privateKey: KeyObject, publicKey: KeyObject, crv: EcCurveName): PrivateJwk {
  if (kty === "RSA") {
    const jwk = rsaJwkFromKeyObject(privateKey);
    rememberPreparedKey(jwk, {
      kind: "RSA",
      privateKey,
      publicKey,
      modulusBits: publicKey.asymmetricKeyDetails?.modulusLength ?? 0,
    });
    return jwk;
  }
  return ecJwkFromKeyObject(privateKey, crv);
}

/**
 * New key material. Synchronous (the caller's signature); RSA-4096 can block for a second or more, so a server
 * that cares can use `generateKeyMaterialAsync`, which produces the same result off the event loop.
 */
export function generateKeyMaterial(kty: "RSA" | "EC" | "oct", opts: KeyGenerationOptions = {}): PrivateJwk {
  switch (kty) {
    case "RSA": {
      const { privateKey, publicKey } = generateKeyPairSync("rsa", {
        modulusLength: rsaSize(opts.size),
        publicExponent: publicExponent(opts.publicExponent),
      });
      return keyFromPair("RSA", privateKey, publicKey, "P-256");
    }
    case "EC": {
      const crv = ecCurve(opts.curve);
      const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: CURVES[crv].nodeName });
      return keyFromPair("EC", privateKey, publicKey, crv);
    }
    case "oct":
      return { kty: "oct", k: toBase64Url(randomBytes(octSize(opts.size) / 8)) };
    default:
      throw new CryptoInputError(`Key type ${JSON.stringify(kty)} is not supported; use RSA, EC or oct.`);
  }
}

/**
 * Same as `generateKeyMaterial`, but RSA/EC generation runs on libuv's thread pool; RSA-2048 with the default
 * exponent comes from a few pairs made ahead (`rsaKeyPool`), so a create does not wait out the prime search.
 */
export async function generateKeyMaterialAsync(kty: "RSA" | "EC" | "oct", opts: KeyGenerationOptions = {}): Promise<PrivateJwk> {
  if (kty === "oct") return generateKeyMaterial(kty, opts);
  const pair = await new Promise<{ privateKey: KeyObject; publicKey: KeyObject }>((resolve, reject) => {
    const done = (err: Error | null, publicKey: KeyObject, privateKey: KeyObject): void =>
      err ? reject(err) : resolve({ privateKey, publicKey });
    if (kty === "RSA" && rsaSize(opts.size) === 2048 && publicExponent(opts.publicExponent) === 65537) {
      takeRsa2048Pair().then((p) => resolve(p), reject);
    } else if (kty === "RSA") {
      generateKeyPair("rsa", { modulusLength: rsaSize(opts.size), publicExponent: publicExponent(opts.publicExponent) }, done);
    } else if (kty === "EC") {
      generateKeyPair("ec", { namedCurve: CURVES[ecCurve(opts.curve)].nodeName }, done);
    } else {
      reject(new CryptoInputError(`Key type ${JSON.stringify(kty)} is not supported; use RSA, EC or oct.`));
    }
  });
  return keyFromPair(kty, pair.privateKey, pair.publicKey, kty === "EC" ? ecCurve(opts.curve) : "P-256");
}

/** The public projection for `KeyBundle.key`: built from an allow-list, so private members can never leak. */
export function toPublicJwk(jwk: PrivateJwk): PublicJwk {
  const kty = baseKty(jwk.kty);
  switch (kty) {
    case "RSA":
      return { kty, n: String(jwk.n), e: String(jwk.e) };
    case "EC":
      return { kty, crv: jwk.crv ?? "P-256", x: String(jwk.x), y: String(jwk.y) };
    case "oct":
      return { kty };
    default:
      throw new CryptoInputError(`Unsupported key type ${JSON.stringify(jwk.kty)}; use RSA, EC or oct.`);
  }
}

function requireMembers(j: Record<string, unknown>, kind: string, names: readonly string[]): Record<string, Buffer> {
  const missing = names.filter((m) => typeof j[m] !== "string" || (j[m] as string).length === 0);
  if (missing.length > 0) {
    throw new CryptoInputError(
      `${kind} key import requires the JWK members ${names.join(", ")}; missing or not a string: ${missing.join(", ")}.`,
    );
  }
  const out: Record<string, Buffer> = {};
  for (const m of names) out[m] = fromBase64Url(j[m] as string, `JWK member "${m}"`);
  return out;
}

function importRsa(j: Record<string, unknown>): PrivateJwk {
  const b = requireMembers(j, "RSA", RSA_MEMBERS);
  const n = bytesToBigInt(b.n!);
  const bits = n.toString(2).length;
  if (!RSA_KEY_SIZES.includes(bits)) {
    throw new CryptoInputError(`RSA key size ${bits} is not supported for import; use 2048, 3072 or 4096.`);
  }
  const e = bytesToBigInt(b.e!);
  if (e < 3n || e % 2n === 0n) throw new CryptoInputError("RSA key import: public exponent e must be odd and ≥ 3.");
  if (bytesToBigInt(b.p!) * bytesToBigInt(b.q!) !== n) {
    throw new CryptoInputError("RSA key import: p · q does not equal the modulus n.");
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({
      key: { kty: "RSA", ...Object.fromEntries(RSA_MEMBERS.map((m) => [m, toBase64Url(b[m]!)])) },
      format: "jwk",
    });
  } catch (err) {
    throw new CryptoInputError(`RSA key import: not a valid RSA private key (${(err as Error).message}).`);
  }
  // Round-trip one value through the private (CRT) and public operations: catches a d/dp/dq/qi that does not fit n, e.
  const probe = bigIntToBytes(0x1234567890abcdefn, bits / 8);
  const publicKey = createPublicKey(privateKey);
  let roundTrips = false;
  try {
    const signed = privateDecrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, probe);
    roundTrips = publicEncrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, signed).equals(probe);
  } catch {
    roundTrips = false;
  }
  if (!roundTrips) {
    throw new CryptoInputError("RSA key import: the private exponent / CRT members (d, dp, dq, qi) do not match n and e.");
  }
  return keyFromPair("RSA", privateKey, publicKey, "P-256");
}

function importEc(j: Record<string, unknown>): PrivateJwk {
  const crvIn = j.crv === "secp256k1" || j.crv === "SECP256K1" ? "P-256K" : j.crv;
  if (!isEcCurveName(crvIn)) {
    throw new CryptoInputError(`EC key import: curve ${JSON.stringify(j.crv)} is not supported; use P-256, P-384, P-521 or P-256K.`);
  }
  const curve = CURVES[crvIn];
  const { d: dBytes } = requireMembers(j, "EC", ["d"]);
  const d = bytesToBigInt(dBytes!);
  if (d <= 0n || d >= curve.n) throw new CryptoInputError(`EC key import: d is out of range for ${crvIn}.`);
  const q = multiplyBase(curve, d);
  if (!q) throw new CryptoInputError(`EC key import: d is out of range for ${crvIn}.`);
  // x and y are optional on import (they follow from d); when given they must be the point d·G.
  if (j.x !== undefined || j.y !== undefined) {
    const { x, y } = requireMembers(j, "EC", ["x", "y"]);
    const given = { x: bytesToBigInt(x!), y: bytesToBigInt(y!) };
    if (!isOnCurve(curve, given)) throw new CryptoInputError(`EC key import: (x, y) is not a point on ${crvIn}.`);
    if (given.x !== q.x || given.y !== q.y) {
      throw new CryptoInputError("EC key import: the private scalar d does not match the public point (x, y).");
    }
  }
  return {
    kty: "EC",
    crv: crvIn,
    x: toBase64Url(bigIntToBytes(q.x, curve.byteLength)),
    y: toBase64Url(bigIntToBytes(q.y, curve.byteLength)),
    d: toBase64Url(bigIntToBytes(d, curve.byteLength)),
  };
}

function importOct(j: Record<string, unknown>): PrivateJwk {
  const { k } = requireMembers(j, "oct", ["k"]);
  if (!OCT_KEY_SIZES.includes(k!.length * 8)) {
    throw new CryptoInputError(`oct key import: key length ${k!.length * 8} bits is not supported; use 128, 192 or 256 bits.`);
  }
  return { kty: "oct", k: toBase64Url(k!) };
}

/**
 * Validates a JWK from `PUT /keys/{name}` (`body.key`) and returns canonical material with the base kty.
 * Everything that is not key material (kid, key_ops, …) is dropped; the caller handles key_ops itself.
 */
export function importKeyMaterial(jwk: unknown): PrivateJwk {
  if (typeof jwk !== "object" || jwk === null || Array.isArray(jwk)) {
    throw new CryptoInputError("The key to import must be a JSON Web Key object.");
  }
  const j = jwk as Record<string, unknown>;
  const kty: JwkKty | undefined = baseKty(j.kty);
  if (j.key_hsm !== undefined && typeof j.d !== "string" && typeof j.k !== "string") {
    throw new CryptoInputError("BYOK import (key_hsm transfer blob) is not supported by the emulator; import the plain private key JWK instead.");
  }
  switch (kty) {
    case "RSA":
      return importRsa(j);
    case "EC":
      return importEc(j);
    case "oct":
      return importOct(j);
    default:
      throw new CryptoInputError(
        `The key to import has unsupported kty ${JSON.stringify(j.kty)}; use RSA, RSA-HSM, EC, EC-HSM, oct or oct-HSM.`,
      );
  }
}
