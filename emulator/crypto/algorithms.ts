/**
 * Key Vault algorithm names (KnownJsonWebKeySignatureAlgorithm / KnownJsonWebKeyEncryptionAlgorithm in
 * @azure/keyvault-keys 4.10.2) mapped to what the emulator needs to run them.
 */
import type { EcCurveName } from "./jwk.js";
import type { HashName } from "./rsaPadding.js";

export type SignatureAlgorithmSpec =
  | { readonly family: "RS" | "PS"; readonly hash: Exclude<HashName, "sha1">; readonly digestLength: number }
  | { readonly family: "ES"; readonly hash: Exclude<HashName, "sha1">; readonly digestLength: number; readonly curve: EcCurveName };

export const SIGNATURE_ALGORITHMS: Readonly<Record<string, SignatureAlgorithmSpec>> = {
  RS256: { family: "RS", hash: "sha256", digestLength: 32 },
  RS384: { family: "RS", hash: "sha384", digestLength: 48 },
  RS512: { family: "RS", hash: "sha512", digestLength: 64 },
  PS256: { family: "PS", hash: "sha256", digestLength: 32 },
  PS384: { family: "PS", hash: "sha384", digestLength: 48 },
  PS512: { family: "PS", hash: "sha512", digestLength: 64 },
  ES256: { family: "ES", hash: "sha256", digestLength: 32, curve: "P-256" },
  ES384: { family: "ES", hash: "sha384", digestLength: 48, curve: "P-384" },
  ES512: { family: "ES", hash: "sha512", digestLength: 64, curve: "P-521" },
  ES256K: { family: "ES", hash: "sha256", digestLength: 32, curve: "P-256K" },
};

/** RSA encryption / key wrapping. */
export const RSA_ENCRYPTION_ALGORITHMS: Readonly<Record<string, { readonly oaepHash?: HashName }>> = {
  RSA1_5: {},
  "RSA-OAEP": { oaepHash: "sha1" },
  "RSA-OAEP-256": { oaepHash: "sha256" },
};

/** Symmetric encryption with an oct key; keyBits must equal the key's length. */
export const AES_ENCRYPTION_ALGORITHMS: Readonly<Record<string, { readonly mode: "gcm" | "cbc" | "cbcpad"; readonly keyBits: number }>> = {
  A128GCM: { mode: "gcm", keyBits: 128 },
  A192GCM: { mode: "gcm", keyBits: 192 },
  A256GCM: { mode: "gcm", keyBits: 256 },
  A128CBC: { mode: "cbc", keyBits: 128 },
  A192CBC: { mode: "cbc", keyBits: 192 },
  A256CBC: { mode: "cbc", keyBits: 256 },
  A128CBCPAD: { mode: "cbcpad", keyBits: 128 },
  A192CBCPAD: { mode: "cbcpad", keyBits: 192 },
  A256CBCPAD: { mode: "cbcpad", keyBits: 256 },
};

/**
 * Symmetric key wrapping. AxxxKW is RFC 3394 with a key of exactly that size; the PKCS#11 names take the size from
 * the key (CKM_AES_KEY_WRAP = RFC 3394, CKM_AES_KEY_WRAP_PAD = RFC 5649).
 */
export const AES_WRAP_ALGORITHMS: Readonly<Record<string, { readonly padded: boolean; readonly keyBits?: number }>> = {
  A128KW: { padded: false, keyBits: 128 },
  A192KW: { padded: false, keyBits: 192 },
  A256KW: { padded: false, keyBits: 256 },
  CKM_AES_KEY_WRAP: { padded: false },
  CKM_AES_KEY_WRAP_PAD: { padded: true },
};

export function lookup<T>(table: Readonly<Record<string, T>>, alg: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(table, alg) ? table[alg] : undefined;
}
