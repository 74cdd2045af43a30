/**
 * Single-key backup blobs (`POST /keys/{name}/backup` → `{value}`; `POST /keys/restore`).
 *
 * Like the service's, a blob is opaque and only restorable where the sealing secret is (the same emulator state /
 * security domain). Layout, then base64url (no padding):
 *   magic "HKB" ‖ version 0x01 ‖ iv (12) ‖ AES-256-GCM(JSON payload) ‖ tag (16)
 * The 4-byte header is also the GCM AAD, so a changed version cannot be replayed under another format.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { CryptoInputError } from "./cryptoInputError.js";

/** The service's message for any blob it cannot open (asserted verbatim by the SDK's own tests). */
export const CORRUPT_BACKUP_MESSAGE = "Backup blob contains invalid or corrupt version.";

const HEADER = Buffer.from([0x48, 0x4b, 0x42, 0x01]); // "HKB", format version 1
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BACKUP_LABEL = "hsm-lifecycle-emulator/key-backup/v1";
const BASE64URL_NO_PADDING = /^[A-Za-z0-9_-]+$/;

/**
 * HKDF-SHA256 (RFC 5869) → 32-byte key for one purpose. Distinct labels give independent keys from one secret, so
 * single-key backups and full backups never share a key.
 */
export function deriveKey(secret: Buffer, label: string): Buffer {
  if (!Buffer.isBuffer(secret) || secret.length < 16) {
    throw new TypeError("deriveKey needs a secret Buffer of at least 16 bytes (the emulator's security-domain secret).");
  }
  if (typeof label !== "string" || label.length === 0) {
    throw new TypeError("deriveKey needs a non-empty label naming the key's purpose.");
  }
  return Buffer.from(hkdfSync("sha256", secret, Buffer.alloc(0), Buffer.from(label, "utf8"), 32));
}

export function sealKeyBackup(payload: object, secret: Buffer): string {
  const json = JSON.stringify(payload);
  if (typeof payload !== "object" || payload === null || json === undefined) {
    throw new TypeError("sealKeyBackup needs a JSON-serialisable object payload.");
  }
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", deriveKey(secret, KEY_BACKUP_LABEL), iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(HEADER);
  const body = Buffer.concat([cipher.update(json, "utf8"), cipher.final()]);
  return Buffer.concat([HEADER, iv, body, cipher.getAuthTag()]).toString("base64url");
}

export function openKeyBackup(blob: string, secret: Buffer): object {
  const corrupt = (): CryptoInputError => new CryptoInputError(CORRUPT_BACKUP_MESSAGE);
  if (typeof blob !== "string" || !BASE64URL_NO_PADDING.test(blob)) throw corrupt();
  const bytes = Buffer.from(blob, "base64url");
  // base64url has slack bits in its last character: only the canonical spelling of these bytes is accepted, so an
  // edited last character can never decode to the same blob.
  if (bytes.toString("base64url") !== blob) throw corrupt();
  if (bytes.length < HEADER.length + IV_BYTES + TAG_BYTES || !bytes.subarray(0, HEADER.length).equals(HEADER)) throw corrupt();
  const iv = bytes.subarray(HEADER.length, HEADER.length + IV_BYTES);
  const body = bytes.subarray(HEADER.length + IV_BYTES, bytes.length - TAG_BYTES);
  const tag = bytes.subarray(bytes.length - TAG_BYTES);
  let json: string;
  try {
    const decipher = createDecipheriv("aes-256-gcm", deriveKey(secret, KEY_BACKUP_LABEL), iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(HEADER);
    decipher.setAuthTag(tag);
    json = Buffer.concat([decipher.update(body), decipher.final()]).toString("utf8");
  } catch (err) {
    if (err instanceof TypeError) throw err; // a bad secret argument is the caller's bug, not a corrupt blob
    throw corrupt();
  }
  let payload: unknown;
  try {
    payload = JSON.parse(json);
  } catch {
    throw corrupt();
  }
  if (typeof payload !== "object" || payload === null) throw corrupt();
  return payload;
}
