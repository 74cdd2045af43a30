/**
 * The body of `POST /securitydomain/download` (CertificateInfoObject): 3–10 custodian certificates as RSA JWKs
 * with `x5c`, and the quorum `required` (2–10, default 2, at most the number of certificates). Accepts the
 * certificates as JWKs (current api-versions) or as `{ value: JWK }` items (7.2). Every problem is a 400
 * BadParameter naming the certificate and the fix; nothing is changed on a bad body.
 */
import { X509Certificate, type KeyObject } from "node:crypto";
import { keyVaultErrors } from "../errors";
import { certificateThumbprint } from "./sdCrypto";

export interface Custodian {
  publicKey: KeyObject;
  /** base64url SHA-256 of the certificate (the file's x5t_256). */
  thumbprint: string;
}

export interface CertificateInfo {
  custodians: Custodian[];
  required: number;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export function parseCertificateInfo(body: unknown): CertificateInfo {
  const bad = keyVaultErrors.badParameter;
  if (!isRecord(body) || !Array.isArray(body["certificates"])) {
    throw bad('The security domain download needs a body {"certificates": [3 to 10 RSA JWKs with x5c], "required": 2..10}.');
  }
  const items = body["certificates"] as unknown[];
  if (items.length < 3 || items.length > 10) {
    throw bad(`The Security Domain download operation requires 3 to 10 certificates; ${items.length} were given. Send between 3 and 10 custodian certificates.`);
  }
  const required = body["required"] ?? 2;
  if (typeof required !== "number" || !Number.isInteger(required) || required < 2 || required > 10) {
    throw bad(`"required" (the quorum) must be a whole number from 2 to 10; got ${JSON.stringify(required)}.`);
  }
  if (required > items.length) {
    throw bad(`"required" (${required}) cannot exceed the number of certificates (${items.length}): the domain could never be recovered.`);
  }
  const custodians = items.map((item, i) => parseCertificate(item, i));
  const seen = new Set<string>();
  for (const [i, c] of custodians.entries()) {
    if (seen.has(c.thumbprint)) throw bad(`Certificate ${i} is given twice; each custodian needs their own certificate.`);
    seen.add(c.thumbprint);
  }
  return { custodians, required };
}

function parseCertificate(item: unknown, i: number): Custodian {
  const bad = (why: string): Error => keyVaultErrors.badParameter(`Certificate ${i}: ${why}`);
  const jwk = isRecord(item) && item["kty"] === undefined && isRecord(item["value"]) ? item["value"] : item;
  if (!isRecord(jwk)) throw bad("not a JSON Web Key object.");
  if (jwk["kty"] !== "RSA") throw bad(`kty must be "RSA" (security domain certificates are RSA), not ${JSON.stringify(jwk["kty"])}.`);
  const x5c = jwk["x5c"];
  if (!Array.isArray(x5c) || x5c.length === 0 || typeof x5c[0] !== "string") throw bad("x5c must hold the base64 DER certificate.");
  const der = Buffer.from(x5c[0], "base64");
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch {
    throw bad("x5c[0] is not a base64 DER X.509 certificate.");
  }
  const publicKey = cert.publicKey;
  if (publicKey.asymmetricKeyType !== "rsa" || (publicKey.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
    throw bad("the certificate's key must be RSA of at least 2048 bits.");
  }
  const exported = publicKey.export({ format: "jwk" });
  if ((jwk["n"] !== undefined && jwk["n"] !== exported.n) || (jwk["e"] !== undefined && jwk["e"] !== exported.e)) {
    throw bad("n/e do not match the public key of the certificate in x5c.");
  }
  const thumbprint = certificateThumbprint(cert.raw);
  if (jwk["x5t#S256"] !== undefined && jwk["x5t#S256"] !== thumbprint) throw bad("x5t#S256 is not the SHA-256 thumbprint of the certificate in x5c.");
  return { publicKey, thumbprint };
}
