/**
 * The cryptographic operations behind Key Vault's sign / verify / encrypt / decrypt / wrapkey / unwrapkey.
 *
 * Inputs are what the REST body carries after base64url decoding. Anything the caller got wrong (an algorithm that
 * does not fit the key, a digest/IV/tag/key of the wrong length, a ciphertext that does not decrypt) throws
 * CryptoInputError, which the routes answer with 400 BadParameter. Messages name lengths and algorithms, never bytes.
 */
import { constants, createCipheriv, createDecipheriv, privateDecrypt, privateEncrypt, publicDecrypt, publicEncrypt, randomBytes, timingSafeEqual, type CipherGCMTypes } from "node:crypto";
import {
  AES_ENCRYPTION_ALGORITHMS,
  AES_WRAP_ALGORITHMS,
  RSA_ENCRYPTION_ALGORITHMS,
  SIGNATURE_ALGORITHMS,
  lookup,
  type SignatureAlgorithmSpec,
} from "./algorithms.js";
import { CryptoInputError } from "./cryptoInputError.js";
import { ecdsaSignDigest, ecdsaVerifyDigest } from "./ecdsa.js";
import type { PrivateJwk, PublicJwk } from "./jwk.js";
import { prepareKey, type PreparedKey } from "./preparedKey.js";
import { digestInfo, pkcs1v15Unpad, pssEncode, pssVerify, type HashName } from "./rsaPadding.js";

export interface EncryptOptions {
  iv?: Uint8Array;
  aad?: Uint8Array;
}

export interface DecryptOptions extends EncryptOptions {
  tag?: Uint8Array;
}

export interface EncryptResult {
  result: Buffer;
  /** Set for AES-GCM (generated when the caller sent none) and AES-CBC. */
  iv?: Buffer;
  /** Set for AES-GCM: the 16-byte authentication tag. */
  authenticationTag?: Buffer;
}

const GCM_IV_BYTES = 12;
const GCM_TAG_BYTES = 16;
const AES_BLOCK_BYTES = 16;
const KW_DEFAULT_IV = Buffer.from("a6a6a6a6a6a6a6a6", "hex"); // RFC 3394 §2.2.3.1
const KWP_DEFAULT_IV = Buffer.from("a65959a6", "hex"); // RFC 5649 §3 (alternative IV prefix)

const SIGN_ALGS = Object.keys(SIGNATURE_ALGORITHMS).join(", ");
const ENCRYPT_ALGS = [...Object.keys(RSA_ENCRYPTION_ALGORITHMS), ...Object.keys(AES_ENCRYPTION_ALGORITHMS)].join(", ");
const WRAP_ALGS = [...Object.keys(RSA_ENCRYPTION_ALGORITHMS), ...Object.keys(AES_WRAP_ALGORITHMS)].join(", ");

function buf(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function algName(alg: unknown, operation: string): string {
  if (typeof alg !== "string" || alg.length === 0) {
    throw new CryptoInputError(`The ${operation} request needs an algorithm ("alg"); got ${JSON.stringify(alg) ?? "nothing"}.`);
  }
  return alg;
}

function describeKey(key: PreparedKey): string {
  switch (key.kind) {
    case "RSA":
      return `an RSA-${key.modulusBits} key`;
    case "EC":
      return `an EC ${key.curve.name} key`;
    case "oct":
      return `a ${key.k.length * 8}-bit oct key`;
  }
}

function wrongKeyType(alg: string, key: PreparedKey, needs: string): CryptoInputError {
  return new CryptoInputError(`Algorithm ${alg} is not valid for ${describeKey(key)}; it needs ${needs}.`);
}

function signatureSpec(alg: string, key: PreparedKey, digest: Buffer): SignatureAlgorithmSpec {
  const spec = lookup(SIGNATURE_ALGORITHMS, alg);
  if (!spec) throw new CryptoInputError(`Algorithm ${alg} is not a supported signature algorithm; use one of ${SIGN_ALGS}.`);
  if (spec.family === "ES") {
    if (key.kind !== "EC") throw wrongKeyType(alg, key, `an EC ${spec.curve} key`);
    if (key.curve.name !== spec.curve) {
      throw new CryptoInputError(`Algorithm ${alg} requires an EC ${spec.curve} key; this key is ${key.curve.name} (key size incorrect for the algorithm).`);
    }
  } else if (key.kind !== "RSA") {
    throw wrongKeyType(alg, key, "an RSA key");
  }
  if (digest.length !== spec.digestLength) {
    throw new CryptoInputError(
      `The digest for ${alg} must be ${spec.digestLength} bytes (${spec.hash.toUpperCase()}); got ${digest.length} bytes. Send the hash of the data, not the data.`,
    );
  }
  return spec;
}

function missingPrivate(operation: string): CryptoInputError {
  return new CryptoInputError(`The key has no private part, so it cannot ${operation}.`);
}

/** Signs a prehashed digest. RSA: PKCS#1 v1.5 (DigestInfo) or PSS (salt = hash length); EC: raw r‖s. */
export function sign(jwk: PrivateJwk, alg: string, digest: Buffer): Buffer {
  const name = algName(alg, "sign");
  const key = prepareKey(jwk);
  const d = buf(digest);
  const spec = signatureSpec(name, key, d);
  if (key.kind === "RSA") {
    if (!key.privateKey) throw missingPrivate("sign");
    if (spec.family === "RS") {
      return privateEncrypt({ key: key.privateKey, padding: constants.RSA_PKCS1_PADDING }, digestInfo(spec.hash, d));
    }
    return privateDecrypt({ key: key.privateKey, padding: constants.RSA_NO_PADDING }, pssEncode(spec.hash, d, key.modulusBits));
  }
  if (key.kind === "EC") {
    if (key.d === undefined) throw missingPrivate("sign");
    return ecdsaSignDigest(key.curve, key.d, d);
  }
  throw wrongKeyType(name, key, "an RSA or EC key");
}

/** Verifies a signature over a prehashed digest; a malformed or wrong signature is `false`, a bad request throws. */
export function verify(jwk: PrivateJwk | PublicJwk, alg: string, digest: Buffer, signature: Buffer): boolean {
  const name = algName(alg, "verify");
  const key = prepareKey(jwk);
  const d = buf(digest);
  const sig = buf(signature);
  const spec = signatureSpec(name, key, d);
  if (key.kind === "RSA") {
    if (sig.length !== Math.ceil(key.modulusBits / 8)) return false;
    try {
      if (spec.family === "RS") {
        const recovered = publicDecrypt({ key: key.publicKey, padding: constants.RSA_PKCS1_PADDING }, sig);
        const expected = digestInfo(spec.hash, d);
        return recovered.length === expected.length && timingSafeEqual(recovered, expected);
      }
      const m = publicEncrypt({ key: key.publicKey, padding: constants.RSA_NO_PADDING }, sig);
      return pssVerify(spec.hash, d, m, key.modulusBits);
    } catch {
      // OpenSSL rejects a signature ≥ n or with broken padding by throwing; for verify that is simply "invalid".
      return false;
    }
  }
  if (key.kind === "EC") return ecdsaVerifyDigest(key.curve, key.q, d, sig);
  throw wrongKeyType(name, key, "an RSA or EC key");
}

function rsaMaxPlaintext(modulusBytes: number, oaepHash: HashName | undefined): number {
  if (!oaepHash) return modulusBytes - 11; // RFC 8017 §7.2.1
  const hLen = oaepHash === "sha1" ? 20 : 32;
  return modulusBytes - 2 * hLen - 2; // RFC 8017 §7.1.1
}

function rsaEncrypt(alg: string, key: PreparedKey, plaintext: Buffer, what: string): Buffer {
  const spec = RSA_ENCRYPTION_ALGORITHMS[alg]!;
  if (key.kind !== "RSA") throw wrongKeyType(alg, key, "an RSA key");
  const modulusBytes = Math.ceil(key.modulusBits / 8);
  const max = rsaMaxPlaintext(modulusBytes, spec.oaepHash);
  if (plaintext.length > max) {
    throw new CryptoInputError(`${alg} can ${what} at most ${max} bytes with ${describeKey(key)}; got ${plaintext.length} bytes.`);
  }
  return spec.oaepHash
    ? publicEncrypt({ key: key.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: spec.oaepHash }, plaintext)
    : publicEncrypt({ key: key.publicKey, padding: constants.RSA_PKCS1_PADDING }, plaintext);
}

function rsaDecrypt(alg: string, key: PreparedKey, ciphertext: Buffer, what: string): Buffer {
  const spec = RSA_ENCRYPTION_ALGORITHMS[alg]!;
  if (key.kind !== "RSA") throw wrongKeyType(alg, key, "an RSA key");
  if (!key.privateKey) throw missingPrivate(what);
  const modulusBytes = Math.ceil(key.modulusBits / 8);
  if (ciphertext.length !== modulusBytes) {
    throw new CryptoInputError(`${alg} ciphertext for ${describeKey(key)} must be ${modulusBytes} bytes; got ${ciphertext.length}.`);
  }
  const failed = new CryptoInputError(`${alg} ${what} failed: the ciphertext was not made with this key and algorithm.`);
  try {
    if (spec.oaepHash) {
      return privateDecrypt({ key: key.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: spec.oaepHash }, ciphertext);
    }
    const plain = pkcs1v15Unpad(privateDecrypt({ key: key.privateKey, padding: constants.RSA_NO_PADDING }, ciphertext));
    if (!plain) throw failed;
    return Buffer.from(plain);
  } catch {
    throw failed;
  }
}

function aesKey(alg: string, key: PreparedKey, keyBits: number | undefined): Buffer {
  if (key.kind !== "oct") throw wrongKeyType(alg, key, keyBits ? `a ${keyBits}-bit oct key` : "an oct key");
  const bits = key.k.length * 8;
  if (keyBits !== undefined && bits !== keyBits) {
    throw new CryptoInputError(`Algorithm ${alg} requires a ${keyBits}-bit oct key; this key is ${bits}-bit (key size incorrect for the algorithm).`);
  }
  if (bits !== 128 && bits !== 192 && bits !== 256) {
    throw new CryptoInputError(`The oct key is ${bits}-bit; AES needs 128, 192 or 256 bits.`);
  }
  return key.k;
}

function cbcIv(alg: string, iv: Uint8Array | undefined): Buffer {
  if (!iv || iv.length !== AES_BLOCK_BYTES) {
    throw new CryptoInputError(`${alg} requires a 16-byte iv; got ${iv ? `${iv.length} bytes` : "none"}.`);
  }
  return buf(iv);
}

export function encrypt(jwk: PrivateJwk, alg: string, plaintext: Buffer, opts: EncryptOptions = {}): EncryptResult {
  const name = algName(alg, "encrypt");
  const key = prepareKey(jwk);
  const data = buf(plaintext);
  if (lookup(RSA_ENCRYPTION_ALGORITHMS, name)) return { result: rsaEncrypt(name, key, data, "encrypt") };
  const aes = lookup(AES_ENCRYPTION_ALGORITHMS, name);
  if (!aes) throw new CryptoInputError(`Algorithm ${name} is not a supported encryption algorithm; use one of ${ENCRYPT_ALGS}.`);
  const k = aesKey(name, key, aes.keyBits);
  if (aes.mode === "gcm") {
    if (opts.iv !== undefined && opts.iv.length !== GCM_IV_BYTES) {
      throw new CryptoInputError(`${name} needs a 12-byte iv (or none, and one is generated); got ${opts.iv.length} bytes.`);
    }
    const iv = opts.iv ? buf(opts.iv) : randomBytes(GCM_IV_BYTES);
    const cipher = createCipheriv(`aes-${aes.keyBits}-gcm` as CipherGCMTypes, k, iv, { authTagLength: GCM_TAG_BYTES });
    if (opts.aad) cipher.setAAD(buf(opts.aad));
    const result = Buffer.concat([cipher.update(data), cipher.final()]);
    return { result, iv, authenticationTag: cipher.getAuthTag() };
  }
  const iv = cbcIv(name, opts.iv);
  if (aes.mode === "cbc" && data.length % AES_BLOCK_BYTES !== 0) {
    throw new CryptoInputError(`${name} (no padding) needs a plaintext that is a multiple of 16 bytes; got ${data.length}. Use ${name}PAD for other lengths.`);
  }
  const cipher = createCipheriv(`aes-${aes.keyBits}-cbc`, k, iv);
  cipher.setAutoPadding(aes.mode === "cbcpad");
  return { result: Buffer.concat([cipher.update(data), cipher.final()]), iv };
}

export function decrypt(jwk: PrivateJwk, alg: string, ciphertext: Buffer, opts: DecryptOptions = {}): Buffer {
  const name = algName(alg, "decrypt");
  const key = prepareKey(jwk);
  const data = buf(ciphertext);
  if (lookup(RSA_ENCRYPTION_ALGORITHMS, name)) return rsaDecrypt(name, key, data, "decrypt");
  const aes = lookup(AES_ENCRYPTION_ALGORITHMS, name);
  if (!aes) throw new CryptoInputError(`Algorithm ${name} is not a supported encryption algorithm; use one of ${ENCRYPT_ALGS}.`);
  const k = aesKey(name, key, aes.keyBits);
  if (aes.mode === "gcm") {
    if (!opts.iv || opts.iv.length !== GCM_IV_BYTES) {
      throw new CryptoInputError(`${name} decrypt requires the 12-byte iv returned by encrypt; got ${opts.iv ? `${opts.iv.length} bytes` : "none"}.`);
    }
    if (!opts.tag || opts.tag.length !== GCM_TAG_BYTES) {
      throw new CryptoInputError(`${name} decrypt requires the 16-byte authentication tag returned by encrypt; got ${opts.tag ? `${opts.tag.length} bytes` : "none"}.`);
    }
    const decipher = createDecipheriv(`aes-${aes.keyBits}-gcm` as CipherGCMTypes, k, buf(opts.iv), { authTagLength: GCM_TAG_BYTES });
    decipher.setAuthTag(buf(opts.tag));
    if (opts.aad) decipher.setAAD(buf(opts.aad));
    try {
      return Buffer.concat([decipher.update(data), decipher.final()]);
    } catch {
      throw new CryptoInputError(`${name} decrypt failed: the authentication tag does not match (wrong key, iv, aad, tag or ciphertext).`);
    }
  }
  const iv = cbcIv(name, opts.iv);
  if (data.length === 0 || data.length % AES_BLOCK_BYTES !== 0) {
    throw new CryptoInputError(`${name} ciphertext must be a non-empty multiple of 16 bytes; got ${data.length}.`);
  }
  const decipher = createDecipheriv(`aes-${aes.keyBits}-cbc`, k, iv);
  decipher.setAutoPadding(aes.mode === "cbcpad");
  try {
    return Buffer.concat([decipher.update(data), decipher.final()]);
  } catch {
    throw new CryptoInputError(`${name} decrypt failed: the PKCS#7 padding is invalid (wrong key, iv or ciphertext).`);
  }
}

function aesWrapCipherName(keyBits: number, padded: boolean): string {
  return `id-aes${keyBits}-wrap${padded ? "-pad" : ""}`;
}

export function wrapKey(jwk: PrivateJwk, alg: string, keyToWrap: Buffer): Buffer {
  const name = algName(alg, "wrapKey");
  const key = prepareKey(jwk);
  const data = buf(keyToWrap);
  if (lookup(RSA_ENCRYPTION_ALGORITHMS, name)) return rsaEncrypt(name, key, data, "wrap");
  const spec = lookup(AES_WRAP_ALGORITHMS, name);
  if (!spec) throw new CryptoInputError(`Algorithm ${name} is not a supported key-wrap algorithm; use one of ${WRAP_ALGS}.`);
  const k = aesKey(name, key, spec.keyBits);
  if (spec.padded ? data.length === 0 : data.length < 16 || data.length % 8 !== 0) {
    throw new CryptoInputError(
      spec.padded
        ? `${name} needs a non-empty key to wrap.`
        : `${name} (RFC 3394) wraps keys of at least 16 bytes in multiples of 8; got ${data.length} bytes.`,
    );
  }
  const cipher = createCipheriv(aesWrapCipherName(k.length * 8, spec.padded), k, spec.padded ? KWP_DEFAULT_IV : KW_DEFAULT_IV);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

export function unwrapKey(jwk: PrivateJwk, alg: string, wrapped: Buffer): Buffer {
  const name = algName(alg, "unwrapKey");
  const key = prepareKey(jwk);
  const data = buf(wrapped);
  if (lookup(RSA_ENCRYPTION_ALGORITHMS, name)) return rsaDecrypt(name, key, data, "unwrap");
  const spec = lookup(AES_WRAP_ALGORITHMS, name);
  if (!spec) throw new CryptoInputError(`Algorithm ${name} is not a supported key-wrap algorithm; use one of ${WRAP_ALGS}.`);
  const k = aesKey(name, key, spec.keyBits);
  const minimum = spec.padded ? 16 : 24;
  if (data.length < minimum || data.length % 8 !== 0) {
    throw new CryptoInputError(`${name} wrapped key must be at least ${minimum} bytes in multiples of 8; got ${data.length} bytes.`);
  }
  const decipher = createDecipheriv(aesWrapCipherName(k.length * 8, spec.padded), k, spec.padded ? KWP_DEFAULT_IV : KW_DEFAULT_IV);
  try {
    return Buffer.concat([decipher.update(data), decipher.final()]);
  } catch {
    throw new CryptoInputError(`${name} unwrap failed: the integrity check failed (wrong key or corrupted wrapped key).`);
  }
}
