/**
 * The two documents of the security-domain lifecycle, in the service's format (as Azure CLI reads and writes
 * them; see emulator/README.md):
 *
 * - the downloaded security domain (`value` of POST /securitydomain/download):
 *   `{"EncData":{"data":[{"compact_jwe","tag"}],"kdf":"sp108_kdf"},
 *     "SharedKeys":{"enc_shares":[{"enc_key","x5t_256"}],"key_algorithm":"shamir_share","required":M},"version":2}`
 *   — a fresh 32-byte master key per download, split into one Shamir share per certificate, each share a JWE to
 *   that certificate; EncData holds the domain under the master key;
 * - the restore blob (`value` of POST /securitydomain/upload): `{"EncData":…,"WrappedKey":{"enc_key","x5t_256"}}`
 *   — EncData re-encrypted under a new master key, which is wrapped to this HSM's exchange key.
 *
 * What the emulator keeps in EncData (datum tag `hsm_backup`) is its own domain material: the domain id and the
 * 32-byte secret that seals backups. The service's file carries HSM-internal blobs instead; no client reads them.
 */
import { randomBytes } from "node:crypto";
import { keyVaultErrors } from "../errors";
import type { SecurityDomain } from "../securityDomain";
import type { Custodian } from "./certificateInfo";
import type { ExchangeKey } from "./exchangeKey";
import { b64url, certificateThumbprint, compactJwe, decryptDatum, decryptWithPrivateKey, encryptDatum, encryptToPublicKey } from "./sdCrypto";
import { splitSecret } from "./shamirSplit";

const DOMAIN_TAG = "hsm_backup";
const DOMAIN_FORMAT = "mhsm-emulator-security-domain/1";

/** Why an upload could not be applied; becomes the upload operation's Failed status_details. */
export class SecurityDomainUploadError extends Error {
  override name = "SecurityDomainUploadError";
}

export async function buildSecurityDomainFile(domain: SecurityDomain, custodians: Custodian[], required: number): Promise<string> {
  const masterKey = randomBytes(32);
  const shares = splitSecret(masterKey, custodians.length, required);
  const payload = Buffer.from(JSON.stringify({ format: DOMAIN_FORMAT, id: domain.id, secret: domain.secret.toString("base64") }), "utf8");
  const encShares = await Promise.all(custodians.map(async (c, i) => ({ enc_key: await encryptToPublicKey(c.publicKey, shares[i] as Buffer), x5t_256: c.thumbprint })));
  return JSON.stringify({
    EncData: { data: [{ compact_jwe: await encryptDatum(masterKey, DOMAIN_TAG, payload), tag: DOMAIN_TAG }], kdf: "sp108_kdf" },
    SharedKeys: { enc_shares: encShares, key_algorithm: "shamir_share", required },
    version: 2,
  });
}

interface RestoreBlob {
  data: { compactJwe: string; tag: string }[];
  wrappedKey: string;
  thumbprint: string;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Shape checks of the upload body: a 400 BadParameter (nothing started) when it is not a restore blob at all. */
export function parseRestoreBlob(body: unknown): RestoreBlob {
  const bad = (why: string): Error =>
    keyVaultErrors.badParameter(`The security domain upload ${why} Prepare it from the security domain file with a quorum of its keys and this HSM's exchange key (GET /securitydomain/upload), e.g. \`hsm-lifecycle dr activate\` or \`az keyvault security-domain upload\`.`);
  if (!isRecord(body) || typeof body["value"] !== "string" || body["value"] === "") throw bad('needs a body {"value": "<restore blob>"}.');
  const text = body["value"].trim();
  let blob: unknown;
  try {
    blob = JSON.parse(text.startsWith("{") ? text : Buffer.from(text, "base64").toString("utf8"));
  } catch {
    throw bad("value is not a restore blob (neither JSON nor base64 JSON).");
  }
  if (isRecord(blob) && isRecord(blob["SharedKeys"]) && blob["WrappedKey"] === undefined) {
    throw bad("value is a downloaded security domain file, not a restore blob: its shares must first be decrypted with a quorum of the custodians' private keys and re-wrapped to this HSM's exchange key.");
  }
  const encData = isRecord(blob) && isRecord(blob["EncData"]) ? blob["EncData"] : undefined;
  const wrapped = isRecord(blob) && isRecord(blob["WrappedKey"]) ? blob["WrappedKey"] : undefined;
  if (encData === undefined || !Array.isArray(encData["data"]) || wrapped === undefined) throw bad("value lacks EncData.data or WrappedKey.");
  const data = (encData["data"] as unknown[]).map((d) => {
    const jwe = isRecord(d) ? compactJwe(d["compact_jwe"]) : undefined;
    if (jwe === undefined || !isRecord(d) || typeof d["tag"] !== "string") throw bad("has an EncData entry without a compact_jwe and tag.");
    return { compactJwe: jwe, tag: d["tag"] };
  });
  const wrappedKey = compactJwe(wrapped["enc_key"]);
  if (wrappedKey === undefined || typeof wrapped["x5t_256"] !== "string") throw bad("has no WrappedKey.enc_key / x5t_256.");
  return { data, wrappedKey, thumbprint: wrapped["x5t_256"] };
}

/** Opens a restore blob with the exchange key; throws SecurityDomainUploadError saying why it cannot be used. */
export async function openRestoreBlob(blob: RestoreBlob, exchangeKey: ExchangeKey, owner: string): Promise<SecurityDomain> {
  const expected = certificateThumbprint(exchangeKey.certificate.raw);
  // The CLI base64url-encodes the thumbprint a second time; accept both spellings.
  if (blob.thumbprint !== expected && blob.thumbprint !== b64url(Buffer.from(expected, "ascii"))) {
    throw new SecurityDomainUploadError(
      `The security domain was wrapped to another exchange key (x5t_256 ${blob.thumbprint}, this HSM's is ${expected}). Fetch this HSM's exchange key (GET /securitydomain/upload) and prepare the upload again.`,
    );
  }
  let masterKey: Uint8Array;
  try {
    masterKey = await decryptWithPrivateKey(exchangeKey.privateKey, blob.wrappedKey);
  } catch {
    throw new SecurityDomainUploadError("The wrapped key of the upload cannot be decrypted with this HSM's exchange key: the upload is corrupt or was modified.");
  }
  const datum = blob.data.find((d) => d.tag === DOMAIN_TAG);
  if (datum === undefined) throw new SecurityDomainUploadError(`The upload carries no '${DOMAIN_TAG}' data: it is not a security domain of a Managed HSM.`);
  let payload: { format?: unknown; id?: unknown; secret?: unknown };
  try {
    payload = JSON.parse(Buffer.from(await decryptDatum(masterKey, DOMAIN_TAG, datum.compactJwe)).toString("utf8")) as typeof payload;
  } catch {
    throw new SecurityDomainUploadError(
      "The security domain data failed its integrity check (A256CBC-HS512): the file was modified, or the shares that unlocked it belong to another security domain file. Use an unmodified file and a quorum of its own custodians' keys.",
    );
  }
  if (payload.format !== DOMAIN_FORMAT || typeof payload.id !== "string" || typeof payload.secret !== "string" || Buffer.from(payload.secret, "base64").length !== 32) {
    throw new SecurityDomainUploadError("The security domain data is not in a format this HSM understands.");
  }
  return { id: payload.id, owner, secret: Buffer.from(payload.secret, "base64") };
}
