/**
 * Offline half of the DR procedure (Azure CLI's `az keyvault security-domain restore-blob`): open a downloaded
 * security domain file with a quorum of the custodians' private keys and re-wrap it to a recovery HSM's exchange
 * key, producing the `value` of `POST /securitydomain/upload`. Also builds the custodian-certificate JWKs a
 * download takes. Private keys are used in memory only; nothing here logs, stores or returns them.
 *
 * Format (see emulator/README.md "Security domain"): shares are JWEs (RSA-OAEP-256 + A256CBC-HS512) of
 * Shamir shares of a 32-byte master key; each EncData datum is a `dir` + A256CBC-HS512 JWE under
 * SP 800-108(HMAC-SHA512, master key, label = tag). The blob is written as the CLI writes it (compact JWEs and
 * the thumbprint base64url-encoded once more), which the service accepts.
 */
import { createHash, createHmac, randomBytes, X509Certificate, type KeyObject } from "node:crypto";
import type { SecurityDomainJsonWebKey } from "./securityDomainClientModels.js";
import { combineShares } from "./securityDomainShares.js";

type Jose = typeof import("jose", { with: { "resolution-mode": "import" } });
// jose is ESM-only; a dynamic import keeps this CommonJS build loading it lazily.
const jose = (): Promise<Jose> => import("jose");

const b64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64url");

/** SP 800-108 counter mode, HMAC-SHA512, 512 bits: the key of one EncData datum. */
function datumKey(masterKey: Uint8Array, tag: string): Buffer {
  const length = Buffer.from([0, 0, 2, 0]); // 512 bits, big-endian
  return createHmac("sha512", masterKey).update(Buffer.concat([Buffer.from([0, 0, 0, 1]), Buffer.from(tag, "utf8"), Buffer.from([0]), length])).digest();
}

/** The custodian certificate as the download takes it (what `az keyvault security-domain download` sends). */
export function custodianCertificateJwk(certificatePem: string, kid: string): SecurityDomainJsonWebKey {
  const cert = new X509Certificate(certificatePem);
  const key = cert.publicKey;
  if (key.asymmetricKeyType !== "rsa" || (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
    throw new Error(`The certificate ${kid} does not hold an RSA key of at least 2048 bits; security domain custodians need one.`);
  }
  const jwk = key.export({ format: "jwk" });
  return {
    kid,
    kty: "RSA",
    key_ops: ["verify", "encrypt", "wrapKey"],
    n: jwk.n as string,
    e: jwk.e as string,
    alg: "RSA-OAEP-256",
    x5c: [cert.raw.toString("base64")],
    x5t: b64url(createHash("sha1").update(cert.raw).digest()),
    "x5t#S256": b64url(createHash("sha256").update(cert.raw).digest()),
  };
}

interface SecurityDomainFile {
  data: { compactJwe: string; tag: string }[];
  shares: string[];
  required: number;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function parseSecurityDomainFile(text: string): SecurityDomainFile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new Error("The security domain file is not JSON. Use the file a security domain download wrote.");
  }
  const enc = isRecord(doc) && isRecord(doc["EncData"]) ? doc["EncData"] : undefined;
  const shared = isRecord(doc) && isRecord(doc["SharedKeys"]) ? doc["SharedKeys"] : undefined;
  if (enc === undefined || shared === undefined || !Array.isArray(enc["data"]) || !Array.isArray(shared["enc_shares"])) {
    throw new Error("The security domain file has no EncData/SharedKeys: it is not a downloaded security domain.");
  }
  if (shared["key_algorithm"] !== undefined && shared["key_algorithm"] !== "shamir_share") throw new Error(`Unsupported SharedKeys algorithm ${JSON.stringify(shared["key_algorithm"])}; only shamir_share exists.`);
  const required = shared["required"];
  if (typeof required !== "number" || !Number.isInteger(required) || required < 2 || required > 10) throw new Error('The security domain file\'s "required" is not 2..10: the file is damaged.');
  const data = (enc["data"] as unknown[]).map((d) => {
    if (!isRecord(d) || typeof d["compact_jwe"] !== "string" || typeof d["tag"] !== "string") throw new Error("The security domain file has an EncData entry without compact_jwe/tag.");
    return { compactJwe: d["compact_jwe"], tag: d["tag"] };
  });
  const shares = (shared["enc_shares"] as unknown[]).map((s) => {
    if (!isRecord(s) || typeof s["enc_key"] !== "string") throw new Error("The security domain file has a share without enc_key.");
    return s["enc_key"];
  });
  return { data, shares, required };
}

export interface RestoreBlob {
  /** The `value` to upload. */
  value: string;
  /** How many custodian keys opened a share (the file's quorum). */
  sharesUsed: number;
  required: number;
}

/**
 * Decrypts a quorum of shares with the custodians' private keys (each key is tried against the shares; the one
 * it opens is its own), recombines the master key, decrypts the domain data and re-encrypts it to the exchange
 * key. Throws naming the cause: too few keys, a key that opens no share, a tampered file.
 */
export async function prepareRestoreBlob(securityDomainFile: string, custodianKeys: readonly KeyObject[], exchangeKey: SecurityDomainJsonWebKey): Promise<RestoreBlob> {
  const { CompactEncrypt, compactDecrypt } = await jose();
  const file = parseSecurityDomainFile(securityDomainFile);
  if (custodianKeys.length < file.required) {
    throw new Error(`This security domain needs ${file.required} custodian keys (its quorum); ${custodianKeys.length} given. Pass --key once per custodian.`);
  }
  const rsaOnly = { keyManagementAlgorithms: ["RSA-OAEP-256"], contentEncryptionAlgorithms: ["A256CBC-HS512"] };
  const opened = new Set<number>();
  const shares: Uint8Array[] = [];
  for (const [k, key] of custodianKeys.entries()) {
    if (shares.length >= file.required) break;
    let match = -1;
    for (const [i, jwe] of file.shares.entries()) {
      if (opened.has(i)) continue;
      try {
        shares.push((await compactDecrypt(jwe, key, rsaOnly)).plaintext);
        match = i;
        break;
      } catch {
        // Not this custodian's share: RSA-OAEP decryption fails with any other key.
      }
    }
    if (match < 0) throw new Error(`Custodian key #${k + 1} opens none of the file's remaining shares: it belongs to another security domain file, or repeats a key already given.`);
    opened.add(match);
  }
  const masterKey = combineShares(shares, file.required);
  const newMaster = randomBytes(32);
  const data: { compact_jwe: string; tag: string }[] = [];
  for (const d of file.data) {
    let plaintext: Uint8Array;
    try {
      plaintext = (await compactDecrypt(d.compactJwe, datumKey(masterKey, d.tag), { keyManagementAlgorithms: ["dir"], contentEncryptionAlgorithms: ["A256CBC-HS512"] })).plaintext;
    } catch {
      throw new Error(`The security domain data '${d.tag}' failed its integrity check: the file was modified, or the keys given are not this file's custodians'. Use the unmodified file and its own custodians' keys.`);
    }
    const jwe = await new CompactEncrypt(plaintext).setProtectedHeader({ alg: "dir", enc: "A256CBC-HS512", kid: d.tag }).encrypt(datumKey(newMaster, d.tag));
    data.push({ compact_jwe: b64url(Buffer.from(jwe, "ascii")), tag: d.tag });
  }
  const exchangeCert = new X509Certificate(Buffer.from(exchangeKey.x5c[0] as string, "base64"));
  const wrapped = await new CompactEncrypt(newMaster).setProtectedHeader({ alg: "RSA-OAEP-256", enc: "A256CBC-HS512", kid: "not used" }).encrypt(exchangeCert.publicKey);
  const thumbprint = b64url(createHash("sha256").update(exchangeCert.raw).digest());
  const value = JSON.stringify({
    EncData: { data, kdf: "sp108_kdf" },
    WrappedKey: { enc_key: b64url(Buffer.from(wrapped, "ascii")), x5t_256: b64url(Buffer.from(thumbprint, "ascii")) },
  });
  return { value, sharesUsed: shares.length, required: file.required };
}
