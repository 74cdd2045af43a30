import { createHash, createPublicKey, verify as verifySignature, type KeyObject } from "node:crypto";
import type { CryptographyClient, KeyClient, KeyVaultKey } from "@azure/keyvault-keys";
import { fromRestError } from "../errors/fromRestError";
import { LifecycleError } from "../errors/lifecycleError";

import { EVIDENCE_KEY_NAME } from "./evidenceKeyName";

export { EVIDENCE_KEY_NAME };

/** A seal: an ECDSA P-256 signature (DER, what `openssl dgst -sha256 -verify` reads) over the SHA-256 of the bytes. */
export interface Seal {
  signatureDer: Buffer;
  publicKeyPem: string;
  /** The versioned key id in the HSM that made it. */
  keyId: string;
  sha256: string;
}

export interface EvidenceSigner {
  /** The signing key's id and public half (creating the key first when allowed). */
  publicKey(): Promise<{ keyId: string; publicKeyPem: string }>;
  seal(bytes: Buffer): Promise<Seal>;
}

/**
 * Signs in the HSM with the real CryptographyClient (`ES256` over the digest: only the digest leaves this process,
 * the private key never leaves the HSM). Key Vault answers ECDSA as raw r‖s (JWS); it is re-encoded as DER and
 * checked against the key's public half before it is handed out, so a seal that would not verify is never written.
 * A missing key is created only when `createIfMissing` (an identity that may create keys); otherwise the error
 * names who must create it.
 */
export function hsmEvidenceSigner(keys: KeyClient, crypto: (key: KeyVaultKey) => CryptographyClient, hsm: { name: string; url: string }, options: { createIfMissing?: boolean } = {}): EvidenceSigner {
  let key: Promise<KeyVaultKey> | undefined;
  const signingKey = async (): Promise<KeyVaultKey> => {
    try {
      return await keys.getKey(EVIDENCE_KEY_NAME);
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode !== 404) throw fromRestError(e, { service: "managedHsm", operation: `reading the signing key ${EVIDENCE_KEY_NAME}`, resource: `${hsm.url}/keys/${EVIDENCE_KEY_NAME}`, requiredRole: "HSM Lifecycle Evidence Signer" });
    }
    if (options.createIfMissing !== true) {
      throw new LifecycleError(
        "NotFound",
        `The signing key "${EVIDENCE_KEY_NAME}" does not exist in the HSM "${hsm.name}" (${hsm.url}). Fix: an HSM Crypto Officer creates it once: az keyvault key create --hsm-name <hsm> --name ${EVIDENCE_KEY_NAME} --kty EC-HSM --curve P-256 --ops sign verify (or run "hsm-lifecycle evidence --credential default" signed in as one).`,
      );
    }
    try {
      return await keys.createEcKey(EVIDENCE_KEY_NAME, { curve: "P-256", hsm: true, keyOps: ["sign", "verify"], exportable: false });
    } catch (e) {
      throw fromRestError(e, { service: "managedHsm", operation: `creating the signing key ${EVIDENCE_KEY_NAME}`, resource: `${hsm.url}/keys/${EVIDENCE_KEY_NAME}`, requiredRole: "Managed HSM Crypto Officer" });
    }
  };
  const current = async (): Promise<{ k: KeyVaultKey; publicKey: KeyObject }> => {
    key ??= signingKey();
    let k: KeyVaultKey;
    try {
      k = await key;
    } catch (e) {
      key = undefined;
      throw e;
    }
    const jwk = k.key;
    if (jwk?.kty === undefined || !jwk.kty.startsWith("EC") || jwk.crv !== "P-256" || jwk.x === undefined || jwk.y === undefined) {
      throw new LifecycleError("BadParameter", `The key "${EVIDENCE_KEY_NAME}" in ${hsm.name} is not an EC P-256 key (kty ${jwk?.kty ?? "?"}, crv ${jwk?.crv ?? "?"}). Fix: create it as EC-HSM P-256 with sign/verify.`);
    }
    return { k, publicKey: createPublicKey({ key: { kty: "EC", crv: "P-256", x: Buffer.from(jwk.x).toString("base64url"), y: Buffer.from(jwk.y).toString("base64url") }, format: "jwk" }) };
  };
  return {
    async publicKey() {
      const { k, publicKey } = await current();
      return { keyId: k.id ?? "", publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString() };
    },
    async seal(bytes) {
      const { k, publicKey } = await current();
      const digest = createHash("sha256").update(bytes).digest();
      let raw: Uint8Array;
      try {
        raw = (await crypto(k).sign("ES256", digest)).result;
      } catch (e) {
        throw fromRestError(e, { service: "managedHsm", operation: `signing with ${EVIDENCE_KEY_NAME}`, resource: k.id ?? `${hsm.url}/keys/${EVIDENCE_KEY_NAME}`, requiredRole: "HSM Lifecycle Evidence Signer" });
      }
      const signatureDer = p1363ToDer(Buffer.from(raw));
      if (!verifySignature("sha256", bytes, publicKey, signatureDer)) {
        throw new LifecycleError("Unexpected", `The HSM's signature with ${k.id ?? EVIDENCE_KEY_NAME} does not verify against the key's public half; nothing was sealed. Fix: check the key in ${hsm.name}.`);
      }
      return { signatureDer, publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(), keyId: k.id ?? "", sha256: digest.toString("hex") };
    },
  };
}

/** ECDSA r‖s (IEEE P1363, what JWS and Key Vault use) → ASN.1 DER SEQUENCE { INTEGER r, INTEGER s } (what OpenSSL uses). */
export function p1363ToDer(raw: Buffer): Buffer {
  if (raw.length === 0 || raw.length % 2 !== 0) throw new LifecycleError("Unexpected", `An ECDSA signature of ${raw.length} bytes is not r‖s.`);
  const integer = (b: Buffer): Buffer => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    let v = b.subarray(i);
    if ((v[0] ?? 0) & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
    return Buffer.concat([Buffer.from([0x02, v.length]), v]);
  };
  const half = raw.length / 2;
  const body = Buffer.concat([integer(raw.subarray(0, half)), integer(raw.subarray(half))]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

/** Offline check of a seal: the signature over the bytes' SHA-256 verifies with the PEM public key. Never throws. */
export function sealVerifies(bytes: Buffer, signatureDer: Buffer, publicKeyPem: string): boolean {
  try {
    return verifySignature("sha256", bytes, createPublicKey(publicKeyPem), signatureDer);
  } catch {
    return false;
  }
}
