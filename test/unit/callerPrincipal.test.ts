import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { EMULATOR_TENANT_ID, signToken } from "../../emulator/auth/tokens";
import { loadApprovalSettings } from "../../shared/approvals/approvalSettings";
import { authenticateCaller, verifyBearer } from "../../shared/approvals/callerPrincipal";

const dir = mkdtempSync(join(tmpdir(), "caller-principal-"));
const secretFile = join(dir, "token-secret");
writeFileSync(secretFile, "a".repeat(64));
const secret = Buffer.from("a".repeat(64));
const OID = "0b5e0a4b-7d2f-4e61-9a3b-0f6d2c8e1b01";
const AUD = "api://hsm-lifecycle";
const settings = loadApprovalSettings({ AUTH_AUDIENCE: AUD, AUTH_TENANT_ID: EMULATOR_TENANT_ID, AUTH_TOKEN_SECRET_FILE: secretFile });
const headers = (h: Record<string, string>) => ({ get: (n: string) => h[n.toLowerCase()] ?? null });

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("authenticateCaller", () => {
  it("takes the principal from a valid emulator token in emulator mode", async () => {
    const { token } = await signToken(secret, { oid: OID, aud: AUD, extra: { groups: ["g1"] } });
    await expect(authenticateCaller(headers({ authorization: `Bearer ${token}` }), settings, true, {})).resolves.toEqual({ oid: OID, groups: ["g1"] });
  });

  it("refuses a wrong audience, another secret, an expired token and no token", async () => {
    const wrongAud = (await signToken(secret, { oid: OID, aud: "https://managedhsm.azure.net" })).token;
    const forged = (await signToken(Buffer.from("b".repeat(64)), { oid: OID, aud: AUD })).token;
    const expired = (await signToken(secret, { oid: OID, aud: AUD, expiresInSeconds: -3600 })).token;
    for (const token of [wrongAud, forged, expired]) await expect(verifyBearer(token, settings, true)).rejects.toThrow(/\[Unauthorized\] The bearer token was refused/);
    await expect(authenticateCaller(headers({}), settings, true, {})).rejects.toThrow(/no bearer token/);
  });

  it("never checks emulator tokens outside emulator mode (Azure: Entra's keys, RS256 only)", async () => {
    const { token } = await signToken(secret, { oid: OID, aud: AUD });
    await expect(verifyBearer(token, settings, false)).rejects.toThrow(/refused \(ERR_JOSE_ALG_NOT_ALLOWED\)/);
  });

  it("trusts x-ms-client-principal only with App Service Authentication on", async () => {
    const principal = Buffer.from(JSON.stringify({ auth_typ: "aad", claims: [{ typ: "http://schemas.microsoft.com/identity/claims/objectidentifier", val: OID }, { typ: "groups", val: "g2" }] })).toString("base64");
    await expect(authenticateCaller(headers({ "x-ms-client-principal": principal }), settings, false, { WEBSITE_AUTH_ENABLED: "True" })).resolves.toEqual({ oid: OID, groups: ["g2"] });
    await expect(authenticateCaller(headers({ "x-ms-client-principal": principal }), settings, false, {})).rejects.toThrow(/no bearer token/);
  });
});
