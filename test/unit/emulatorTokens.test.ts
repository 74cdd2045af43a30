// The emulator's bearer tokens: HS256 JWTs minted and checked by jose, with Key Vault's claim rules and messages.
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { EMULATOR_TENANT_ID, signToken, verifyToken } from "../../emulator/auth/tokens";
import { KeyVaultError } from "../../emulator/errors";

const SECRET = Buffer.from("a".repeat(64));
const HSM = "https://managedhsm.azure.net";
const OID = "0b5e0a4b-7d2f-4e61-9a3b-0f6d2c8e1a01";
const now = (): number => Math.floor(Date.now() / 1000);

/** A hand-made JWS, for the shapes the emulator itself never mints. */
function handMade(header: Record<string, unknown>, claims: Record<string, unknown>, secret: Buffer = SECRET, alg = "sha256"): string {
  const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString("base64url");
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${createHmac(alg, secret).update(input).digest("base64url")}`;
}

async function refusal(token: string, audience = HSM): Promise<string> {
  const error = await verifyToken(SECRET, token, audience).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KeyVaultError);
  expect((error as KeyVaultError).status).toBe(401);
  return (error as Error).message;
}

const valid = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ oid: OID, tid: EMULATOR_TENANT_ID, aud: HSM, iat: now(), exp: now() + 600, ...extra });

describe("emulator tokens", () => {
  it("mints a verifiable HS256 JWT with oid, tid, aud, iat and exp", async () => {
    const { token, exp } = await signToken(SECRET, { oid: OID, aud: HSM, expiresInSeconds: 120 });
    expect(JSON.parse(Buffer.from(token.split(".")[0] as string, "base64url").toString())).toEqual({ alg: "HS256", typ: "JWT" });
    expect(exp).toBeGreaterThanOrEqual(now() + 119);
    const claims = await verifyToken(SECRET, token, HSM);
    expect(claims).toMatchObject({ oid: OID, tid: EMULATOR_TENANT_ID, aud: HSM, exp });
    // A token from another state dir's secret is refused.
    expect(await refusal((await signToken(Buffer.from("b".repeat(64)), { oid: OID, aud: HSM })).token)).toMatch(/^AKV10032: .*signature does not match/);
  });

  it("accepts an audience with a trailing slash; refuses another audience, tenant or a missing oid", async () => {
    await expect(verifyToken(SECRET, handMade({ alg: "HS256", typ: "JWT" }, valid({ aud: `${HSM}/` })), HSM)).resolves.toMatchObject({ oid: OID });
    expect(await refusal(handMade({ alg: "HS256" }, valid({ aud: "https://vault.azure.net" })))).toMatch(/Invalid audience\. Expected https:\/\/managedhsm\.azure\.net, found: https:\/\/vault\.azure\.net/);
    expect(await refusal(handMade({ alg: "HS256" }, valid({ tid: "someone-else" })))).toMatch(/^AKV10032: Invalid issuer/);
    expect(await refusal(handMade({ alg: "HS256" }, valid({ oid: "" })))).toMatch(/oid claim is missing/);
  });

  it("refuses alg none and other algorithms, naming the algorithm", async () => {
    const none = `${Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url")}.${Buffer.from(JSON.stringify(valid())).toString("base64url")}.`;
    expect(await refusal(none)).toMatch(/alg must be HS256 \(got none\)/);
    expect(await refusal(handMade({ alg: "HS512" }, valid(), SECRET, "sha512"))).toMatch(/alg must be HS256 \(got HS512\)/);
  });

  it("allows five minutes of clock skew on exp and nbf, not more; exp is required", async () => {
    await expect(verifyToken(SECRET, handMade({ alg: "HS256" }, valid({ exp: now() - 60 })), HSM)).resolves.toBeDefined();
    expect(await refusal(handMade({ alg: "HS256" }, valid({ exp: now() - 400 })))).toMatch(/token is expired/);
    await expect(verifyToken(SECRET, handMade({ alg: "HS256" }, valid({ nbf: now() + 60 })), HSM)).resolves.toBeDefined();
    expect(await refusal(handMade({ alg: "HS256" }, valid({ nbf: now() + 400 })))).toMatch(/not valid yet/);
    const { exp: _dropped, ...noExp } = valid();
    expect(await refusal(handMade({ alg: "HS256" }, noExp))).toMatch(/exp claim is missing or invalid/);
  });

  it("refuses what is not a JWT", async () => {
    for (const garbage of ["", "abc", "a.b.c", "a.b", `${Buffer.from("{").toString("base64url")}.e30.sig`]) {
      expect(await refusal(garbage)).toMatch(/not a JWT/);
    }
  });
});
