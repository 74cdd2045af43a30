/**
 * Secure key release (POST /keys/{name}[/{version}]/release) and key attestation, emulated.
 *
 * Release: the key must be exportable with a release policy. The target attestation token (a JWT, as
 * Microsoft Azure Attestation issues) is NOT signature-checked — the emulator cannot reach an attestation
 * service — but its claims are evaluated against the policy (`anyOf[].authority` = token `iss`,
 * `allOf[]`/`anyOf[]` `{claim, equals}`), and the key is wrapped for the token's `x-ms-runtime.keys[0]`
 * RSA key with CKM_RSA_AES_KEY_WRAP (RSA-OAEP wraps a fresh AES-256 key, AES-KWP wraps the PKCS#8 key),
 * as the service does. The answer is a JWS whose payload carries `response.key.key.key_hsm`; it is
 * signed HS256 (jose) with a key derived from the instance's security domain (the real service signs RS256).
 */
import { constants, createCipheriv, createHash, createPrivateKey, createPublicKey, publicEncrypt, randomBytes } from "node:crypto";
import type { PrivateJwk } from "../crypto/keyMaterial";
import { keyVaultErrors } from "../errors";
import type { StoredKeyVersion } from "./keyModel";

type Claims = Record<string, unknown>;
type Jose = typeof import("jose", { with: { "resolution-mode": "import" } });
// jose is ESM-only; node >= 20.19 loads it through require(), which this CommonJS build emits.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- an ESM-only package, loaded synchronously by require(esm) from this CommonJS build
const jose = require("jose") as Jose;

/** The target token's claims, read (not verified: see above) by jose. */
function targetClaims(token: unknown): Claims {
  if (typeof token !== "string" || token.split(".").length !== 3) throw keyVaultErrors.badParameter("'target' must be an attestation token (a JWT).");
  try {
    return jose.decodeJwt(token);
  } catch {
    throw keyVaultErrors.badParameter("'target' is not a readable JWT: its payload is not base64url JSON.");
  }
}

function claimValue(claims: Claims, path: string): unknown {
  if (path in claims) return claims[path];
  return path.split(".").reduce<unknown>((v, k) => (v !== null && typeof v === "object" ? (v as Claims)[k] : undefined), claims);
}

interface PolicyNode {
  claim?: string;
  equals?: unknown;
  allOf?: PolicyNode[];
  anyOf?: PolicyNode[];
  authority?: string;
}

function matches(node: PolicyNode, claims: Claims): boolean {
  if (node.authority !== undefined && String(claims["iss"] ?? "").replace(/\/$/, "") !== node.authority.replace(/\/$/, "")) return false;
  if (node.claim !== undefined && claimValue(claims, node.claim) !== node.equals) return false;
  if (node.allOf !== undefined && !node.allOf.every((n) => matches(n, claims))) return false;
  if (node.anyOf !== undefined && !node.anyOf.some((n) => matches(n, claims))) return false;
  return true;
}

function nodeJwk(jwk: PrivateJwk): Record<string, unknown> {
  const j = { ...(jwk as unknown as Record<string, unknown>) };
  if (j["crv"] === "P-256K") j["crv"] = "secp256k1";
  return j;
}

function keyBytes(jwk: PrivateJwk): Buffer {
  if (jwk.kty === "oct") return Buffer.from(jwk.k ?? "", "base64url");
  return createPrivateKey({ key: nodeJwk(jwk) as never, format: "jwk" }).export({ type: "pkcs8", format: "der" });
}

export interface ReleaseInput {
  kid: string;
  version: StoredKeyVersion;
  body: unknown;
  apiVersion: string;
  signingSecret: Buffer;
}

export async function releaseKey(input: ReleaseInput): Promise<{ value: string }> {
  const { version: v } = input;
  const b = (input.body ?? {}) as Record<string, unknown>;
  if (!v.exportable || v.releasePolicy === undefined) throw keyVaultErrors.badParameter("Key release needs an exportable key with a release policy (create it with attributes.exportable=true and release_policy).");
  const enc = typeof b["enc"] === "string" ? b["enc"] : "CKM_RSA_AES_KEY_WRAP";
  const oaepHash = { CKM_RSA_AES_KEY_WRAP: "sha1", RSA_AES_KEY_WRAP_256: "sha256", RSA_AES_KEY_WRAP_384: "sha384" }[enc];
  if (oaepHash === undefined) throw keyVaultErrors.badParameter(`Unsupported enc '${enc}'; use CKM_RSA_AES_KEY_WRAP, RSA_AES_KEY_WRAP_256 or RSA_AES_KEY_WRAP_384.`);
  const claims = targetClaims(b["target"]);
  let policy: PolicyNode;
  try {
    policy = JSON.parse(Buffer.from(v.releasePolicy.data, "base64url").toString("utf8")) as PolicyNode;
  } catch {
    throw keyVaultErrors.badParameter("The key's release policy is not valid JSON.");
  }
  if (!matches(policy, claims)) throw keyVaultErrors.forbidden("Target environment attestation statement cannot be verified: the attestation claims do not satisfy the key release policy.", "AccessDenied");
  const runtimeKeys = (claimValue(claims, "x-ms-runtime") as { keys?: Array<Record<string, unknown>> } | undefined)?.keys;
  const target = runtimeKeys?.find((k) => k["kty"] === "RSA");
  if (target === undefined) throw keyVaultErrors.badParameter("The attestation token has no RSA key in x-ms-runtime.keys to wrap the released key for.");
  const targetKey = createPublicKey({ key: { kty: "RSA", n: target["n"], e: target["e"] } as never, format: "jwk" });
  const aesKey = randomBytes(32);
  const wrappedAes = publicEncrypt({ key: targetKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, aesKey);
  const kwp = createCipheriv("id-aes256-wrap-pad", aesKey, Buffer.from("A65959A6", "hex"));
  const wrappedKey = Buffer.concat([kwp.update(keyBytes(v.jwk)), kwp.final()]);
  const keyHsm = Buffer.from(
    JSON.stringify({ schema_version: "1.0", header: { kid: target["kid"] ?? "", alg: "dir", enc }, ciphertext: Buffer.concat([wrappedAes, wrappedKey]).toString("base64url") }),
  ).toString("base64url");
  const payload = {
    request: { "api-version": input.apiVersion, enc, kid: input.kid, ...(typeof b["nonce"] === "string" ? { nonce: b["nonce"] } : {}) },
    response: { key: { key: { kid: input.kid, kty: v.kty, key_ops: v.keyOps, key_hsm: keyHsm }, attributes: { enabled: v.enabled, exportable: v.exportable }, release_policy: v.releasePolicy } },
  };
  const signingKey = createHash("sha256").update(input.signingSecret).update("key-release").digest();
  const value = await new jose.SignJWT(payload).setProtectedHeader({ alg: "HS256", typ: "JWT", kid: input.kid }).sign(signingKey);
  return { value };
}

/** Emulator attestation statements: JSON describing the key, in place of an HSM vendor's blobs. */
export function attestationFor(kid: string, v: StoredKeyVersion, caPem: string): Record<string, string> {
  const pub = Object.fromEntries(Object.entries(v.jwk as unknown as Record<string, unknown>).filter(([k]) => ["kty", "n", "e", "crv", "x", "y"].includes(k)));
  const statement = (kind: string): string =>
    Buffer.from(JSON.stringify({ emulator: "hsm-lifecycle", statement: kind, kid, kty: v.kty, generatedInHsm: true, exportable: v.exportable, publicKeySha256: createHash("sha256").update(JSON.stringify(pub)).digest("hex") })).toString("base64url");
  return { certificatePemFile: Buffer.from(caPem).toString("base64url"), privateKeyAttestation: statement("private"), publicKeyAttestation: statement("public"), version: "emulator-1.0" };
}
