/**
 * ensureTls(stateDir): the emulator's CA and server certificate, generated with @peculiar/x509 on first
 * start and reused afterwards (so clients keep trusting DIR/ca.pem across restarts).
 *
 * Files: DIR/ca.pem (trust this: `tlsOptions: { ca }`), DIR/tls/ca-key.pem, DIR/tls/server.pem,
 * DIR/tls/server-key.pem. The server certificate's SANs cover localhost, 127.0.0.1, ::1,
 * *.managedhsm.localhost and *.vault.localhost, so every instance and any topic server can use it.
 */
import { webcrypto } from "node:crypto";

type CryptoKeyPair = webcrypto.CryptoKeyPair;
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
// @peculiar/x509 resolves its services through tsyringe, which needs a Reflect metadata polyfill loaded first.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

export interface TlsMaterial {
  caFile: string;
  caPem: string;
  certPem: string;
  /** Server private key (PEM). Never log. */
  keyPem: string;
}

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

function toPem(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der).toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function writeAtomic(file: string, text: string, mode: number): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, file);
}

export async function ensureTls(stateDir: string): Promise<TlsMaterial> {
  const caFile = join(stateDir, "ca.pem");
  const dir = join(stateDir, "tls");
  const certFile = join(dir, "server.pem");
  const keyFile = join(dir, "server-key.pem");
  if (existsSync(caFile) && existsSync(certFile) && existsSync(keyFile)) {
    return { caFile, caPem: readFileSync(caFile, "utf8"), certPem: readFileSync(certFile, "utf8"), keyPem: readFileSync(keyFile, "utf8") };
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const crypto = webcrypto;
  x509.cryptoProvider.set(crypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const notBefore = new Date(Date.now() - 24 * 3600 * 1000);
  const notAfter = new Date(Date.now() + 10 * 365 * 24 * 3600 * 1000);

  const caKeys = (await crypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString("hex").replace(/^[89a-f]/, "1"),
    name: "CN=hsm-lifecycle emulator CA, O=hsm-lifecycle",
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });

  const leafKeys = (await crypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString("hex").replace(/^[89a-f]/, "1"),
    subject: "CN=localhost",
    issuer: ca.subject,
    notBefore,
    notAfter: new Date(Date.now() + 2 * 365 * 24 * 3600 * 1000),
    signingKey: caKeys.privateKey,
    publicKey: leafKeys.publicKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: "dns", value: "localhost" },
        { type: "dns", value: "*.managedhsm.localhost" },
        { type: "dns", value: "*.vault.localhost" },
        { type: "ip", value: "127.0.0.1" },
        { type: "ip", value: "::1" },
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
      await x509.SubjectKeyIdentifierExtension.create(leafKeys.publicKey),
    ],
  });

  const caPem = ca.toString("pem") + "\n";
  const certPem = leaf.toString("pem") + "\n";
  const keyPem = toPem(await crypto.subtle.exportKey("pkcs8", leafKeys.privateKey), "PRIVATE KEY");
  writeAtomic(join(dir, "ca-key.pem"), toPem(await crypto.subtle.exportKey("pkcs8", caKeys.privateKey), "PRIVATE KEY"), 0o600);
  writeAtomic(keyFile, keyPem, 0o600);
  writeAtomic(certFile, certPem, 0o644);
  // ca.pem last: its presence marks a complete set.
  writeAtomic(caFile, caPem, 0o644);
  return { caFile, caPem, certPem, keyPem };
}
