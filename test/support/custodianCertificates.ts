/**
 * Security domain custodians for tests: RSA-2048 key pairs with self-signed certificates (@peculiar/x509, as
 * an operator's `openssl req -newkey rsa:2048 -x509` would make), as PEM strings and, optionally, files.
 */
import { createPrivateKey, webcrypto, type KeyObject } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

export interface Custodian {
  certificatePem: string;
  privateKeyPem: string;
  privateKey: KeyObject;
  /** Set by writeCustodianFiles. */
  certFile?: string;
  keyFile?: string;
}

const ALG = { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" } as const;

export async function makeCustodians(count: number, label = "custodian"): Promise<Custodian[]> {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const out: Custodian[] = [];
  for (let i = 0; i < count; i++) {
    const keys = (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: `0${i + 1}`,
      name: `CN=${label} ${i}`,
      notBefore: new Date(Date.now() - 3600_000),
      notAfter: new Date(Date.now() + 365 * 24 * 3600_000),
      keys,
      signingAlgorithm: ALG,
    });
    const der = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
    const privateKey = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
    out.push({ certificatePem: cert.toString("pem"), privateKeyPem: privateKey.export({ format: "pem", type: "pkcs8" }) as string, privateKey });
  }
  return out;
}

export function writeCustodianFiles(dir: string, custodians: Custodian[], label = "custodian"): void {
  for (const [i, c] of custodians.entries()) {
    c.certFile = join(dir, `${label}${i}.cer`);
    c.keyFile = join(dir, `${label}${i}.pem`);
    writeFileSync(c.certFile, c.certificatePem);
    writeFileSync(c.keyFile, c.privateKeyPem, { mode: 0o600 });
  }
}
