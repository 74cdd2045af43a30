/**
 * The cryptography of the Managed HSM security-domain file format, as the service and Azure CLI's
 * `az keyvault security-domain` use it:
 *
 * - shares and the upload's wrapped key: compact JWE, `RSA-OAEP-256` + `A256CBC-HS512`, to an RSA certificate;
 * - the encrypted data: compact JWE, `dir` + `A256CBC-HS512` with `kid` = the datum's tag, under a 512-bit key
 *   derived from the 32-byte master key by SP 800-108 (HMAC-SHA512, counter mode, label = tag, empty context).
 *
 * JWE is done by `jose`; the KDF is one HMAC (no library implements this exact label/context layout).
 * The CLI writes compact JWEs base64url-encoded once more inside upload blobs; `compactJwe()` accepts both.
 */
import { createHmac, createHash, type KeyObject } from "node:crypto";

// jose is ESM-only; a dynamic import keeps this CommonJS build loading it lazily.
type Jose = typeof import("jose", { with: { "resolution-mode": "import" } });
const jose = (): Promise<Jose> => import("jose");

export function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64url");
}

/** SHA-256 thumbprint of a DER certificate, base64url (the file's `x5t_256`, a JWK's `x5t#S256`). */
export function certificateThumbprint(der: Uint8Array): string {
  return b64url(createHash("sha256").update(der).digest());
}

/** SP 800-108 counter-mode KDF with HMAC-SHA512, 512 bits out: the key of one EncData datum. */
export function datumKey(masterKey: Uint8Array, tag: string): Buffer {
  const bits = Buffer.alloc(4);
  bits.writeUInt32BE(512);
  const counter = Buffer.from([0, 0, 0, 1]);
  return createHmac("sha512", masterKey).update(Buffer.concat([counter, Buffer.from(tag, "utf8"), Buffer.from([0]), bits])).digest();
}

/** A compact JWE as found in a file: itself, or base64url of it (the CLI's upload blobs). */
export function compactJwe(value: unknown): string | undefined {
  if (typeof value !== "string" || value === "") return undefined;
  if (value.split(".").length === 5) return value;
  const decoded = Buffer.from(value, "base64url").toString("latin1");
  return decoded.split(".").length === 5 ? decoded : undefined;
}

export async function encryptToPublicKey(publicKey: KeyObject, plaintext: Uint8Array): Promise<string> {
  const { CompactEncrypt } = await jose();
  return new CompactEncrypt(plaintext).setProtectedHeader({ alg: "RSA-OAEP-256", enc: "A256CBC-HS512", kid: "not used" }).encrypt(publicKey);
}

export async function decryptWithPrivateKey(privateKey: KeyObject, jwe: string): Promise<Uint8Array> {
  const { compactDecrypt } = await jose();
  return (await compactDecrypt(jwe, privateKey, { keyManagementAlgorithms: ["RSA-OAEP-256"], contentEncryptionAlgorithms: ["A256CBC-HS512"] })).plaintext;
}

export async function encryptDatum(masterKey: Uint8Array, tag: string, plaintext: Uint8Array): Promise<string> {
  const { CompactEncrypt } = await jose();
  return new CompactEncrypt(plaintext).setProtectedHeader({ alg: "dir", enc: "A256CBC-HS512", kid: tag }).encrypt(datumKey(masterKey, tag));
}

export async function decryptDatum(masterKey: Uint8Array, tag: string, jwe: string): Promise<Uint8Array> {
  const { compactDecrypt } = await jose();
  return (await compactDecrypt(jwe, datumKey(masterKey, tag), { keyManagementAlgorithms: ["dir"], contentEncryptionAlgorithms: ["A256CBC-HS512"] })).plaintext;
}
