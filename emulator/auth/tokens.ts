/**
 * Bearer tokens the emulator accepts: JWTs signed HS256 with the secret in DIR/token-secret, claims
 * `oid` (principal), `tid` (EMULATOR_TENANT_ID), `aud` (https://managedhsm.azure.net or
 * https://vault.azure.net), `exp` (unix seconds, wall clock). Anyone holding the secret can mint tokens;
 * it is a local development secret, never a real credential.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
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

const b64url = (data: Buffer | string): string => Buffer.from(data).toString("base64url");

export function signToken(secret: Buffer, claims: { oid: string; aud: string; expiresInSeconds?: number; tid?: string; extra?: Record<string, unknown> }): { token: string; exp: number } {
  const now = Math.floor(Date.now() / 1000);
  const exp = now + (claims.expiresInSeconds ?? 3600);
  const payload: TokenClaims = { ...(claims.extra ?? {}), oid: claims.oid, tid: claims.tid ?? EMULATOR_TENANT_ID, aud: claims.aud, iat: now, exp };
  const head = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const body = b64url(JSON.stringify(payload));
  const sig = createHmac("sha256", secret).update(`${head}.${body}`).digest("base64url");
  return { token: `${head}.${body}.${sig}`, exp };
}

/** Validates signature, alg, exp, aud and tid; throws 401 Unauthorized naming the problem. */
export function verifyToken(secret: Buffer, token: string, audience: string): TokenClaims {
  const parts = token.split(".");
  if (parts.length !== 3) throw keyVaultErrors.unauthorized("AKV10022: Invalid token: it is not a JWT (header.payload.signature).");
  const [head, body, sig] = parts as [string, string, string];
  let header: { alg?: string };
  let claims: TokenClaims;
  try {
    header = JSON.parse(Buffer.from(head, "base64url").toString("utf8")) as { alg?: string };
    claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as TokenClaims;
  } catch {
    throw keyVaultErrors.unauthorized("AKV10022: Invalid token: header or payload is not base64url JSON.");
  }
  if (header.alg !== "HS256") throw keyVaultErrors.unauthorized(`AKV10022: Invalid token: alg must be HS256 (got ${String(header.alg)}).`);
  const expected = createHmac("sha256", secret).update(`${head}.${body}`).digest();
  const given = Buffer.from(sig, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw keyVaultErrors.unauthorized("AKV10032: Invalid token: the signature does not match. Mint tokens with this emulator's token-secret.");
  }
  if (typeof claims.exp !== "number" || claims.exp <= Math.floor(Date.now() / 1000)) {
    throw keyVaultErrors.unauthorized("AKV10022: Invalid token: the token is expired. Request a new token.");
  }
  if (typeof claims["nbf"] === "number" && claims["nbf"] > Math.floor(Date.now() / 1000) + 300) {
    throw keyVaultErrors.unauthorized("AKV10022: Invalid token: it is not valid yet (nbf is in the future).");
  }
  const aud = typeof claims.aud === "string" ? claims.aud.replace(/\/$/, "") : "";
  if (aud !== audience) throw keyVaultErrors.unauthorized(`AKV10022: Invalid audience. Expected ${audience}, found: ${aud || "(none)"}.`);
  if (claims.tid !== EMULATOR_TENANT_ID) throw keyVaultErrors.unauthorized(`AKV10032: Invalid issuer. Expected tenant ${EMULATOR_TENANT_ID}, found: ${String(claims.tid)}.`);
  if (typeof claims.oid !== "string" || claims.oid === "") throw keyVaultErrors.unauthorized("AKV10022: Invalid token: the oid claim is missing.");
  return claims;
}
