/**
 * ensureTls(stateDir): the emulator's CA and server certificate, generated with @peculiar/x509 on first
 * start and reused afterwards (so clients keep trusting DIR/ca.pem across restarts).
 *
 * Files: DIR/ca.pem (trust this: `tlsOptions: { ca }`), DIR/tls/ca-key.pem, DIR/tls/server.pem,
 * DIR/tls/server-key.pem. The server certificate's SANs cover localhost, 127.0.0.1, ::1,
 * *.managedhsm.localhost and *.vault.localhost, so every instance and any topic server can use it.
 *
 * With `azureHostNames` (the `--azure-host-names` flag) the instances serve a second leaf,
 * DIR/tls/server-azure-names.pem, that ALSO covers *.managedhsm.azure.net and *.vault.azure.net, so tools
 * that build `https://NAME.managedhsm.azure.net` can be pointed here with a hosts entry. It is issued by the
 * same local CA, so it is trusted only where DIR/ca.pem is; the default leaf never carries those names, so
 * a state dir used without the flag cannot impersonate Azure hosts even to a client that trusts the CA.
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

export interface TlsOptions {
  /** Also cover *.managedhsm.azure.net and *.vault.azure.net (a separate leaf; default false). */
  azureHostNames?: boolean;
}

/** The Azure host names the opt-in leaf adds. */
export const AZURE_HOST_NAMES: readonly string[] = ["*.managedhsm.azure.net", "*.vault.azure.net"];

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const LOCAL_NAMES = ["localhost", "*.managedhsm.localhost", "*.vault.localhost"];

function toPem(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der).toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function fromPem(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----(BEGIN|END) [^-]+-----/g, "").replace(/\s+/g, ""), "base64");
}

function writeAtomic(file: string, text: string, mode: number): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, file);
}

const serial = (): string => Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString("hex").replace(/^[89a-f]/, "1");

interface Ca {
  cert: x509.X509Certificate;
  privateKey: webcrypto.CryptoKey;
}

async function createCa(dir: string): Promise<Ca> {
  const caKeys = (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: "CN=hsm-lifecycle emulator CA, O=hsm-lifecycle",
    notBefore: new Date(Date.now() - 24 * 3600 * 1000),
    notAfter: new Date(Date.now() + 10 * 365 * 24 * 3600 * 1000),
    keys: caKeys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  writeAtomic(join(dir, "ca-key.pem"), toPem(await webcrypto.subtle.exportKey("pkcs8", caKeys.privateKey), "PRIVATE KEY"), 0o600);
  // ca.pem is written only after the first leaf (see ensureTls): its presence marks a complete set.
  return { cert, privateKey: caKeys.privateKey };
}

async function loadCa(dir: string, caPem: string): Promise<Ca> {
  const keyFile = join(dir, "ca-key.pem");
  if (!existsSync(keyFile)) throw new Error(`The emulator CA key ${keyFile} is missing; delete ${dir} and ca.pem next to it to create a new CA (clients must then trust the new ca.pem).`);
  const privateKey = await webcrypto.subtle.importKey("pkcs8", fromPem(readFileSync(keyFile, "utf8")), ALG, false, ["sign"]);
  return { cert: new x509.X509Certificate(caPem), privateKey };
}

async function createLeaf(ca: Ca, dnsNames: readonly string[]): Promise<{ certPem: string; keyPem: string }> {
  const leafKeys = (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: "CN=localhost",
    issuer: ca.cert.subject,
    notBefore: new Date(Date.now() - 24 * 3600 * 1000),
    notAfter: new Date(Date.now() + 2 * 365 * 24 * 3600 * 1000),
    signingKey: ca.privateKey,
    publicKey: leafKeys.publicKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...dnsNames.map((value) => ({ type: "dns" as const, value })),
        { type: "ip", value: "127.0.0.1" },
        { type: "ip", value: "::1" },
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey),
      await x509.SubjectKeyIdentifierExtension.create(leafKeys.publicKey),
    ],
  });
  return { certPem: leaf.toString("pem") + "\n", keyPem: toPem(await webcrypto.subtle.exportKey("pkcs8", leafKeys.privateKey), "PRIVATE KEY") };
}

export async function ensureTls(stateDir: string, options: TlsOptions = {}): Promise<TlsMaterial> {
  const caFile = join(stateDir, "ca.pem");
  const dir = join(stateDir, "tls");
  const leafName = options.azureHostNames === true ? "server-azure-names" : "server";
  const certFile = join(dir, `${leafName}.pem`);
  const keyFile = join(dir, `${leafName}-key.pem`);
  const haveCa = existsSync(caFile);
  if (haveCa && existsSync(certFile) && existsSync(keyFile)) {
    return { caFile, caPem: readFileSync(caFile, "utf8"), certPem: readFileSync(certFile, "utf8"), keyPem: readFileSync(keyFile, "utf8") };
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  // An existing CA is kept: clients already trust its ca.pem.
  const ca = haveCa ? await loadCa(dir, readFileSync(caFile, "utf8")) : await createCa(dir);
  const { certPem, keyPem } = await createLeaf(ca, options.azureHostNames === true ? [...LOCAL_NAMES, ...AZURE_HOST_NAMES] : LOCAL_NAMES);
  writeAtomic(keyFile, keyPem, 0o600);
  writeAtomic(certFile, certPem, 0o644);
  const caPem = ca.cert.toString("pem") + "\n";
  // ca.pem last: its presence marks a complete set.
  if (!haveCa) writeAtomic(caFile, caPem, 0o644);
  return { caFile, caPem: haveCa ? readFileSync(caFile, "utf8") : caPem, certPem, keyPem };
}
