/**
 * An RSA-2048 key pair with a self-signed certificate (@peculiar/x509), as `openssl req -newkey rsa:2048 -x509`
 * makes one: the HSM's exchange key; tests use it for security-domain custodians too.
 */
import { createPrivateKey, webcrypto, X509Certificate, type KeyObject } from "node:crypto";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

const ALG = { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" } as const;

export async function selfSignedRsa(commonName: string): Promise<{ privateKey: KeyObject; certificate: X509Certificate }> {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString("hex").replace(/^[89a-f]/, "1"),
    name: `CN=${commonName}`,
    notBefore: new Date(Date.now() - 3600_000),
    notAfter: new Date(Date.now() + 365 * 24 * 3600_000),
    keys,
    signingAlgorithm: ALG,
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
  return { privateKey: createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" }), certificate: new X509Certificate(Buffer.from(cert.rawData)) };
}
