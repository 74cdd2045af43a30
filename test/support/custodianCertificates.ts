/**
 * Security domain custodians for tests: RSA-2048 key pairs with self-signed certificates (as an operator's
 * `openssl req -newkey rsa:2048 -x509` would make), as PEM strings and, optionally, files.
 */
import type { KeyObject } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { selfSignedRsa } from "../../emulator/securitydomain/selfSignedRsa";

export interface Custodian {
  certificatePem: string;
  privateKeyPem: string;
  privateKey: KeyObject;
  /** Set by writeCustodianFiles. */
  certFile?: string;
  keyFile?: string;
}

export async function makeCustodians(count: number, label = "custodian"): Promise<Custodian[]> {
  const out: Custodian[] = [];
  for (let i = 0; i < count; i++) {
    const { privateKey, certificate } = await selfSignedRsa(`${label} ${i}`);
    out.push({ certificatePem: certificate.toString(), privateKeyPem: privateKey.export({ format: "pem", type: "pkcs8" }) as string, privateKey });
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
