/**
 * The HSM's security-domain exchange ("transfer") key: an RSA-2048 key pair with a self-signed certificate,
 * made on first use and kept in the instance's data dir (DIR/instances/NAME/exchange-key.json, mode 600), so an
 * upload wrapped to the key fetched before a restart still opens after it. `GET /securitydomain/upload` serves
 * it as the service does: `{"key_format":"jwk","transfer_key":"<JWK as a JSON string>"}` (the CLI's
 * `init-recovery` JSON-decodes transfer_key a second time).
 */
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { b64url, certificateThumbprint } from "./sdCrypto";
import { selfSignedRsa } from "./selfSignedRsa";

export interface ExchangeKey {
  /** Never log or return this. */
  privateKey: KeyObject;
  certificate: X509Certificate;
}

interface StoredExchangeKey {
  privateKeyPem: string;
  certificate: string;
}

const pending = new Map<string, Promise<ExchangeKey>>();

/** One exchange key per HSM even when two first requests race (both must get the key that is kept). */
export function loadOrCreateExchangeKey(dataDir: string, hsmName: string): Promise<ExchangeKey> {
  let key = pending.get(dataDir);
  if (key === undefined) {
    key = loadOrCreate(dataDir, hsmName);
    pending.set(dataDir, key);
    key.catch(() => pending.delete(dataDir));
  }
  return key;
}

async function loadOrCreate(dataDir: string, hsmName: string): Promise<ExchangeKey> {
  const file = join(dataDir, "exchange-key.json");
  if (existsSync(file)) {
    const stored = JSON.parse(readFileSync(file, "utf8")) as StoredExchangeKey;
    return { privateKey: createPrivateKey(stored.privateKeyPem), certificate: new X509Certificate(Buffer.from(stored.certificate, "base64")) };
  }
  const { privateKey, certificate } = await selfSignedRsa(`${hsmName} security domain exchange key`);
  const stored: StoredExchangeKey = { privateKeyPem: privateKey.export({ format: "pem", type: "pkcs8" }) as string, certificate: certificate.raw.toString("base64") };
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(stored), { mode: 0o600 });
  renameSync(tmp, file);
  return { privateKey, certificate };
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
