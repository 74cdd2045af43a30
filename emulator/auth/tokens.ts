/**
 * Bearer tokens the emulator accepts: JWTs signed HS256 (minted and checked by `jose`) with the secret in DIR/token-secret, claims
 * `oid` (principal), `tid` (EMULATOR_TENANT_ID), `aud` (https://managedhsm.azure.net or
 * https://vault.azure.net), `exp` (unix seconds, wall clock). Anyone holding the secret can mint tokens;
 * it is a local development secret, never a real credential.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { keyVaultErrors } from "../errors";

export const EMULATOR_TENANT_ID = "7e4f0c2a-0d1e-4b7a-9e53-3c0b6e1d2a11";

export interface TokenClaims {
  oid: string;
  tid: string;
  aud: string;
  exp: number;
  iat?: number;
  [claim: string]: unknown;
}

export function tokenSecretPath(stateDir: string): string {
  return join(stateDir, "token-secret");
}

/** Reads DIR/token-secret, creating it (32 random bytes, hex) on first use. */
export function ensureTokenSecret(stateDir: string): { file: string; secret: Buffer } {
  mkdirSync(stateDir, { recursive: true });
  const file = tokenSecretPath(stateDir);
  if (!existsSync(file)) {
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, randomBytes(32).toString("hex") + "\n", { mode: 0o600 });
    renameSync(tmp, file);
  }
  return { file, secret: readTokenSecret(file) };
}

export function readTokenSecret(file: string): Buffer {
  const text = readFileSync(file, "utf8").trim();
  if (text === "") throw new Error(`Token secret file ${file} is empty; delete it and restart the emulator to create a new one.`);
  return Buffer.from(text, "utf8");
}

const CLOCK_SKEW_SECONDS = 300;

type Jose = typeof import("jose", { with: { "resolution-mode": "import" } });
// jose is ESM-only; node >= 20.19 loads it through require(), which this CommonJS build emits.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- an ESM-only package, loaded synchronously by require(esm) from this CommonJS build
const jose = require("jose") as Jose;

/** Mints an HS256 JWT (jose) for `oid` and audience `aud`. */
export async function signToken(
  secret: Buffer,
  claims: { oid: string; aud: string; expiresInSeconds?: number; tid?: string; extra?: Record<string, unknown> },
): Promise<{ token: string; exp: number }> {
  const now = Math.floor(Date.now() / 1000);
  const exp = now + (claims.expiresInSeconds ?? 3600);
  const tid = claims.tid ?? EMULATOR_TENANT_ID;
  // iss and nbf as Microsoft Entra ID's v1 tokens carry them: services (and Azurite's OAuth check) require both.
  const token = await new jose.SignJWT({ ...(claims.extra ?? {}), oid: claims.oid, tid })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(`https://sts.windows.net/${tid}/`)
    .setAudience(claims.aud)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(exp)
    .sign(secret);
  return { token, exp };
}

/** The Key Vault-style 401 message for what jose refused. */
function refusal(error: unknown, token: string): string {
  const code = (error as { code?: string }).code;
  switch (code) {
    case "ERR_JWT_EXPIRED":
      return "AKV10022: Invalid token: the token is expired. Request a new token.";
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return "AKV10032: Invalid token: the signature does not match. Mint tokens with this emulator's token-secret.";
    case "ERR_JOSE_ALG_NOT_ALLOWED": {
      let alg = "none";
      try {
        alg = String(jose.decodeProtectedHeader(token).alg);
      } catch {
        // the header was readable enough for jose to name the algorithm; keep "none" if not
      }
      return `AKV10022: Invalid token: alg must be HS256 (got ${alg}).`;
    }
    case "ERR_JWT_CLAIM_VALIDATION_FAILED": {
      const claim = (error as { claim?: string }).claim;
      if (claim === "nbf") return "AKV10022: Invalid token: it is not valid yet (nbf is in the future).";
      return `AKV10022: Invalid token: the ${String(claim)} claim is missing or invalid.`;
    }
    default:
      return "AKV10022: Invalid token: it is not a JWT (header.payload.signature of base64url JSON).";
  }
}

/** Validates signature, alg, exp and nbf (jose), then aud, tid and oid; throws 401 Unauthorized naming the problem. */
export async function verifyToken(secret: Buffer, token: string, audience: string): Promise<TokenClaims> {
  let claims: TokenClaims;
  try {
    // Five minutes of clock skew on exp and nbf: the default of Microsoft's token validation, which the service uses.
    const { payload } = await jose.jwtVerify(token, secret, { algorithms: ["HS256"], requiredClaims: ["exp"], clockTolerance: CLOCK_SKEW_SECONDS });
    claims = payload as TokenClaims;
  } catch (error) {
    throw keyVaultErrors.unauthorized(refusal(error, token));
  }
  const aud = typeof claims.aud === "string" ? claims.aud.replace(/\/$/, "") : "";
  if (aud !== audience) throw keyVaultErrors.unauthorized(`AKV10022: Invalid audience. Expected ${audience}, found: ${aud || "(none)"}.`);
  if (claims.tid !== EMULATOR_TENANT_ID) throw keyVaultErrors.unauthorized(`AKV10032: Invalid issuer. Expected tenant ${EMULATOR_TENANT_ID}, found: ${String(claims.tid)}.`);
  if (typeof claims.oid !== "string" || claims.oid === "") throw keyVaultErrors.unauthorized("AKV10022: Invalid token: the oid claim is missing.");
  return claims;
}
