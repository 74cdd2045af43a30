/**
 * RSA encodings that node:crypto does not offer for a prehashed digest or no longer offers for decryption:
 * PKCS#1 v1.5 DigestInfo (RFC 8017 §9.2), EMSA-PSS over a digest (§9.1) and EME-PKCS1-v1_5 decoding (§7.2.2).
 * The callers run the raw RSA primitive with RSA_NO_PADDING (or PKCS#1 signature padding) around these.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

export type HashName = "sha1" | "sha256" | "sha384" | "sha512";

/** DER prefix of DigestInfo { AlgorithmIdentifier(hash, NULL), OCTET STRING(digest) } (RFC 8017 §9.2 note 1). */
const DIGEST_INFO_PREFIX: Readonly<Record<Exclude<HashName, "sha1">, Buffer>> = {
  sha256: Buffer.from("3031300d060960864801650304020105000420", "hex"),
  sha384: Buffer.from("3041300d060960864801650304020205000430", "hex"),
  sha512: Buffer.from("3051300d060960864801650304020305000440", "hex"),
};

export function digestInfo(hash: Exclude<HashName, "sha1">, digest: Buffer): Buffer {
  return Buffer.concat([DIGEST_INFO_PREFIX[hash], digest]);
}

function mgf1(hash: HashName, seed: Buffer, length: number): Buffer {
  const blocks: Buffer[] = [];
  let produced = 0;
  for (let counter = 0; produced < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    const block = createHash(hash).update(seed).update(c).digest();
    blocks.push(block);
    produced += block.length;
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/**
 * EMSA-PSS-ENCODE with salt length = hash length and MGF1 with the same hash (what Key Vault's PS* use),
 * returned left-padded to `modulusBytes` so it can go straight into the raw RSA private operation.
 */
export function pssEncode(hash: HashName, mHash: Buffer, modulusBits: number): Buffer {
  const hLen = mHash.length;
  const sLen = hLen;
  const emBits = modulusBits - 1;
  const emLen = Math.ceil(emBits / 8);
  if (emLen < hLen + sLen + 2) throw new RangeError("RSA modulus too small for PSS with this hash");
  const salt = randomBytes(sLen);
  const h = createHash(hash).update(Buffer.alloc(8)).update(mHash).update(salt).digest();
  const db = Buffer.alloc(emLen - hLen - 1);
  db[emLen - sLen - hLen - 2] = 0x01;
  salt.copy(db, emLen - sLen - hLen - 1);
  const mask = mgf1(hash, h, db.length);
  for (let i = 0; i < db.length; i++) db[i]! ^= mask[i]!;
  db[0]! &= 0xff >>> (8 * emLen - emBits);
  const em = Buffer.concat([db, h, Buffer.from([0xbc])]);
  const modulusBytes = Math.ceil(modulusBits / 8);
  return Buffer.concat([Buffer.alloc(modulusBytes - em.length), em]);
}

/** EMSA-PSS-VERIFY (salt length = hash length) over `m`, the result of the raw public RSA operation. */
export function pssVerify(hash: HashName, mHash: Buffer, m: Buffer, modulusBits: number): boolean {
  const hLen = mHash.length;
  const sLen = hLen;
  const emBits = modulusBits - 1;
  const emLen = Math.ceil(emBits / 8);
  if (emLen < hLen + sLen + 2 || m.length < emLen) return false;
  // When modulusBits ≡ 1 (mod 8) the encoded message is one byte shorter than the modulus; that byte must be 0.
  for (let i = 0; i < m.length - emLen; i++) if (m[i] !== 0) return false;
  const em = m.subarray(m.length - emLen);
  if (em[emLen - 1] !== 0xbc) return false;
  const maskedDb = em.subarray(0, emLen - hLen - 1);
  const h = em.subarray(emLen - hLen - 1, emLen - 1);
  const topBits = 8 * emLen - emBits;
  if ((maskedDb[0]! & ~(0xff >>> topBits) & 0xff) !== 0) return false;
  const mask = mgf1(hash, h, maskedDb.length);
  const db = Buffer.alloc(maskedDb.length);
  for (let i = 0; i < db.length; i++) db[i] = maskedDb[i]! ^ mask[i]!;
  db[0]! &= 0xff >>> topBits;
  const psLen = emLen - hLen - sLen - 2;
  for (let i = 0; i < psLen; i++) if (db[i] !== 0) return false;
  if (db[psLen] !== 0x01) return false;
  const salt = db.subarray(db.length - sLen);
  const h2 = createHash(hash).update(Buffer.alloc(8)).update(mHash).update(salt).digest();
  return timingSafeEqual(h, h2);
}

/**
 * EME-PKCS1-v1_5 decoding of a raw RSA decryption result: 0x00 0x02 PS(≥ 8 non-zero bytes) 0x00 M.
 * Node 20 refuses RSA_PKCS1_PADDING in privateDecrypt (CVE-2023-46809, Marvin), but Key Vault still offers RSA1_5,
 * so the emulator decodes it itself. It is not a constant-time decoder: acceptable for emulator test keys only.
 * Returns undefined when the padding is invalid.
 */
export function pkcs1v15Unpad(em: Buffer): Buffer | undefined {
  if (em.length < 11 || em[0] !== 0x00 || em[1] !== 0x02) return undefined;
  const separator = em.indexOf(0x00, 2);
  if (separator < 10) return undefined;
  return em.subarray(separator + 1);
}
