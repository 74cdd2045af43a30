/**
 * The HSM's security-domain exchange ("transfer") key: an RSA-2048 key pair with a self-signed certificate,
 * made on first use and kept in the instance's data dir (DIR/instances/NAME/exchange-key.json, mode 600), so an
 * upload wrapped to the key fetched before a restart still opens after it. `GET /securitydomain/upload` serves
 * it as the service does: `{"key_format":"jwk","transfer_key":"<JWK as a JSON string>"}` (the CLI's
 * `init-recovery` JSON-decodes transfer_key a second time).
 */
import { createPrivateKey, createHash, webcrypto, X509Certificate, type KeyObject } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { b64url, certificateThumbprint } from "./sdCrypto";

export interface ExchangeKey {
  /** Never log or return this. */
  privateKey: KeyObject;
  certificate: X509Certificate;
}

interface StoredExchangeKey {
  privateKeyPem: string;
  certificate: string;
}

const ALG = { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" } as const;

export async function loadOrCreateExchangeKey(dataDir: string, hsmName: string): Promise<ExchangeKey> {
  const file = join(dataDir, "exchange-key.json");
  if (existsSync(file)) {
    const stored = JSON.parse(readFileSync(file, "utf8")) as StoredExchangeKey;
    return { privateKey: createPrivateKey(stored.privateKeyPem), certificate: new X509Certificate(Buffer.from(stored.certificate, "base64")) };
  }
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString("hex").replace(/^[89a-f]/, "1"),
    name: `CN=${hsmName} security domain exchange key`,
    notBefore: new Date(Date.now() - 3600_000),
    notAfter: new Date(Date.now() + 365 * 24 * 3600_000),
    keys,
    signingAlgorithm: ALG,
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
  const privateKey = createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
  const stored: StoredExchangeKey = { privateKeyPem: privateKey.export({ format: "pem", type: "pkcs8" }) as string, certificate: Buffer.from(cert.rawData).toString("base64") };
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(stored), { mode: 0o600 });
  renameSync(tmp, file);
  return { privateKey, certificate: new X509Certificate(Buffer.from(cert.rawData)) };
}

/** The TransferKey body of `GET /securitydomain/upload`. */
export function transferKeyBody(key: ExchangeKey, baseUrl: string): { key_format: "jwk"; transfer_key: string } {
  const jwk = key.certificate.publicKey.export({ format: "jwk" });
  const der = key.certificate.raw;
  const transferKey = {
    kid: `${baseUrl}/transfer_key`,
    kty: "RSA",
    key_ops: ["encrypt"],
    n: jwk.n,
    e: jwk.e,
    alg: "RSA-OAEP-256",
    x5c: [der.toString("base64")],
    x5t: b64url(createHash("sha1").update(der).digest()),
    "x5t#S256": certificateThumbprint(der),
  };
  return { key_format: "jwk", transfer_key: JSON.stringify(transferKey) };
}
