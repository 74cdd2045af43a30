/**
 * Encryption of full-backup blobs under the HSM's security domain.
 *
 * Every blob of a backup folder is an "envelope": a small JSON document holding AES-256-GCM ciphertext of
 * the real content. The key is HKDF-SHA256(security-domain secret, label), so only an HSM holding the same
 * security domain can read a backup (as with the real service, where backups are protected by the
 * security domain). The blob's own path inside the folder is bound in as AAD, so blobs cannot be swapped
 * or renamed without detection, and the GCM tag catches any edited byte.
 *
 * `sd` is a public fingerprint of the security domain (an HMAC of a fixed label, never the secret), which
 * lets a restore tell "backup from another security domain" apart from "backup corrupted".
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";
import { deriveKey } from "../crypto/keyBackupBlob";

const KEY_LABEL = "hsm-lifecycle/managed-hsm/full-backup/v1";
const FINGERPRINT_LABEL = "hsm-lifecycle/managed-hsm/security-domain-id/v1";
export const ENVELOPE_FORMAT = "mhsm-emulator-backup-envelope/1";

export interface BackupEnvelope {
  format: typeof ENVELOPE_FORMAT;
  alg: "A256GCM";
  /** Security-domain fingerprint (public). */
  sd: string;
  iv: string;
  tag: string;
  ciphertext: string;
}

/** Why a blob could not be opened; restore turns these into job statusDetails. */
export class EnvelopeError extends Error {
  constructor(
    readonly reason: "foreignSecurityDomain" | "corrupt",
    message: string,
  ) {
    super(message);
    this.name = "EnvelopeError";
  }
}

export function securityDomainFingerprint(securityDomainSecret: Buffer): string {
  return createHmac("sha256", securityDomainSecret).update(FINGERPRINT_LABEL).digest("hex").slice(0, 32);
}

function backupKey(securityDomainSecret: Buffer): Buffer {
  // Same HKDF as single-key backups, with its own label so the two never share a key.
  return deriveKey(securityDomainSecret, KEY_LABEL);
}

export function sealEnvelope(securityDomainSecret: Buffer, blobPath: string, content: unknown): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", backupKey(securityDomainSecret), iv);
  cipher.setAAD(Buffer.from(blobPath, "utf8"));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(content), "utf8"), cipher.final()]);
  const envelope: BackupEnvelope = {
    format: ENVELOPE_FORMAT,
    alg: "A256GCM",
    sd: securityDomainFingerprint(securityDomainSecret),
    iv: iv.toString("base64"),
    tag: cipher.getAuthTag().toString("base64"),
    ciphertext: ciphertext.toString("base64"),
  };
  return JSON.stringify(envelope);
}

/** Decrypts and JSON-parses one blob; throws EnvelopeError saying why it cannot be used. */
export function openEnvelope(securityDomainSecret: Buffer, blobPath: string, text: string): unknown {
  let envelope: Partial<BackupEnvelope>;
  try {
    envelope = JSON.parse(text) as Partial<BackupEnvelope>;
  } catch {
    throw new EnvelopeError("corrupt", `Backup blob '${blobPath}' is not a backup envelope (not JSON): the backup is corrupt or was modified.`);
  }
  if (
    envelope.format !== ENVELOPE_FORMAT ||
    envelope.alg !== "A256GCM" ||
    typeof envelope.iv !== "string" ||
    typeof envelope.tag !== "string" ||
    typeof envelope.ciphertext !== "string" ||
    typeof envelope.sd !== "string"
  ) {
    throw new EnvelopeError("corrupt", `Backup blob '${blobPath}' is not a valid backup envelope: the backup is corrupt or was modified.`);
  }
  if (envelope.sd !== securityDomainFingerprint(securityDomainSecret)) {
    throw new EnvelopeError(
      "foreignSecurityDomain",
      `The backup was taken on an HSM with a different security domain (backup security domain ${envelope.sd}, ` +
        `this HSM ${securityDomainFingerprint(securityDomainSecret)}). Restore requires the source and target HSM to share ` +
        `a security domain: restore into an HSM activated with the source's security domain.`,
    );
  }
  try {
    const decipher = createDecipheriv("aes-256-gcm", backupKey(securityDomainSecret), Buffer.from(envelope.iv, "base64"));
    decipher.setAAD(Buffer.from(blobPath, "utf8"));
    decipher.setAuthTag(Buffer.from(envelope.tag, "base64"));
    const plain = Buffer.concat([decipher.update(Buffer.from(envelope.ciphertext, "base64")), decipher.final()]);
    return JSON.parse(plain.toString("utf8")) as unknown;
  } catch {
    throw new EnvelopeError(
      "corrupt",
      `Backup blob '${blobPath}' failed integrity verification (AES-GCM authentication): the backup is corrupt or was modified. Restore from an unmodified backup folder.`,
    );
  }
}
