// Challenge auth, token validation and the error model, through the real SDK and raw HTTPS.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHmac } from "node:crypto";
import { KeyClient } from "@azure/keyvault-keys";
import type { AccessToken, TokenCredential } from "@azure/core-auth";
import { ADMIN_OID, restError, startTestEmulator, type TestEmulator } from "../support/emulator";

let emu: TestEmulator;
beforeAll(async () => {
  emu = await startTestEmulator({ hsms: ["hsm1", { name: "locked", purgeProtection: true, softDeleteRetentionDays: 7 }], vaults: ["vault1"] });
});
afterAll(async () => {
  await emu?.close();
});

function staticCredential(token: string): TokenCredential {
  return { getToken: async (): Promise<AccessToken> => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }) };
}

function forgeToken(claims: Record<string, unknown>, secret: string): string {
  const h = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url");
  const b = Buffer.from(JSON.stringify(claims)).toString("base64url");
  return `${h}.${b}.${createHmac("sha256", secret).update(`${h}.${b}`).digest("base64url")}`;
}

describe("challenge and tokens", () => {
  it("answers a bodiless request without token with 401 + WWW-Authenticate + JSON body", async () => {
    const r = await emu.request("hsm1", "POST", "/keys/x/create?api%2Dversion=2025-07-01", { token: null });
    expect(r.status).toBe(401);
    expect(r.headers["www-authenticate"]).toMatch(/^Bearer authorization="https:\/\/login\.microsoftonline\.com\/[0-9a-f-]+", resource="https:\/\/managedhsm\.azure\.net"$/);
    expect(r.body).toEqual({ error: { code: "Unauthorized", message: "AKV10000: Request is missing a Bearer or PoP token." } });
    expect(r.headers["x-ms-request-id"]).toBeTruthy();
    const v = await emu.request("vault1", "GET", "/keys?api-version=7.6", { token: null });
    expect(v.headers["www-authenticate"]).toContain('resource="https://vault.azure.net"');
  });

  it("rejects expired, badly signed and wrong-audience tokens with 401 through the SDK", async () => {
    const secret = (await import("node:fs")).readFileSync(emu.emulator.tokenSecretFile, "utf8").trim();
    const now = Math.floor(Date.now() / 1000);
    const base = { oid: ADMIN_OID, tid: emu.emulator.tenantId, aud: "https://managedhsm.azure.net" };
    const cases: Record<string, string> = {
      // Beyond the five minutes of clock skew the service allows.
      expired: forgeToken({ ...base, exp: now - 400 }, secret),
      badSignature: forgeToken({ ...base, exp: now + 600 }, "not-the-secret"),
      wrongAudience: forgeToken({ ...base, aud: "https://vault.azure.net", exp: now + 600 }, secret),
      wrongTenant: forgeToken({ ...base, tid: "someone-else", exp: now + 600 }, secret),
    };
    for (const [label, token] of Object.entries(cases)) {
      const client = new KeyClient(emu.url("hsm1"), staticCredential(token), emu.clientOptions());
      const e = await restError(client.getKey("anything"));
      expect(e.statusCode, label).toBe(401);
      expect(e.code, label).toBe("Unauthorized");
    }
    // The same forged claims with the right secret work (the checks above are not vacuous).
    const good = new KeyClient(emu.url("hsm1"), staticCredential(forgeToken({ ...base, exp: now + 600 }, secret)), emu.clientOptions());
    expect((await restError(good.getKey("anything"))).statusCode).toBe(404);
  });

  it("prints a usable token from the CLI token subcommand's signer", async () => {
    const token = await emu.emulator.token(ADMIN_OID, { audience: "vault" });
    const r = await emu.request("vault1", "GET", "/keys?api-version=7.6", { token });
    expect(r.status).toBe(200);
    const wrong = await emu.request("hsm1", "GET", "/keys?api-version=7.6", { token });
    expect(wrong.status).toBe(401);
  });
});

describe("challenge-resource verification left ON", () => {
  it("works when the client addresses NAME.managedhsm.localhost (resource https://managedhsm.localhost)", async () => {
    const { Agent } = await import("node:https");
    const port = new URL(emu.url("hsm1")).port;
    // *.localhost does not resolve here, so resolve it to 127.0.0.1 in the agent.
    const agent = new Agent({
      ca: emu.ca,
      lookup: ((_host: string, opts: { all?: boolean }, cb: (...a: unknown[]) => void) =>
        opts?.all ? cb(null, [{ address: "127.0.0.1", family: 4 }]) : cb(null, "127.0.0.1", 4)) as never,
    });
    const client = new KeyClient(`https://hsm1.managedhsm.localhost:${port}`, emu.credential(), { agent, retryOptions: { maxRetries: 0 } });
    const key = await client.createEcKey("verified-host");
    expect(key.id).toMatch(new RegExp(`^https://hsm1\\.managedhsm\\.localhost:${port}/keys/verified-host/`));
    const challenge = await emu.request("hsm1", "GET", "/keys?api-version=2025-07-01", { token: null, headers: { host: `hsm1.managedhsm.localhost:${port}` } });
    expect(challenge.headers["www-authenticate"]).toContain('resource="https://managedhsm.localhost"');
    agent.destroy();
  });
});

describe("error model", () => {
  it("404 KeyNotFound for a missing key and version", async () => {
    const client = emu.keyClient("hsm1");
    const e = await restError(client.getKey("missing"));
    expect(e.statusCode).toBe(404);
    expect(e.code).toBe("KeyNotFound");
    await client.createEcKey("present");
    expect((await restError(client.getKey("present", { version: "0".repeat(32) }))).code).toBe("KeyNotFound");
  });

  it("400 BadParameter for a bad key name and for key types the flavour does not support", async () => {
    const hsm = emu.keyClient("hsm1");
    const vault = emu.keyClient("vault1");
    const badName = await restError(hsm.createRsaKey("bad_name!"));
    expect(badName.statusCode).toBe(400);
    expect(badName.code).toBe("BadParameter");
    const oct = await restError(vault.createOctKey("aes", { hsm: true }));
    expect(oct.statusCode).toBe(400);
    expect(oct.code).toBe("BadParameter");
    const size = await restError(hsm.createRsaKey("small", { keySize: 1024 }));
    expect(size.code).toBe("BadParameter");
    expect((await restError(hsm.getKey("small"))).statusCode).toBe(404); // bad input changed nothing
  });

  it("403 when purging under purge protection; the key stays recoverable", async () => {
    const client = emu.keyClient("locked");
    const created = await client.createRsaKey("protected");
    expect(created.properties.recoveryLevel).toBe("CustomizedRecoverable");
    expect(created.properties.recoverableDays).toBe(7);
    await (await client.beginDeleteKey("protected", { intervalInMs: 10 })).pollUntilDone();
    const e = await restError(client.purgeDeletedKey("protected"));
    expect(e.statusCode).toBe(403);
    expect(e.code).toBe("Forbidden");
    expect(e.message).toContain("purge protection");
    expect((await client.getDeletedKey("protected")).name).toBe("protected");
  });

  it("409 Conflict when creating a name that is soft-deleted", async () => {
    const client = emu.keyClient("vault1");
    await client.createRsaKey("gone");
    await (await client.beginDeleteKey("gone", { intervalInMs: 10 })).pollUntilDone();
    const e = await restError(client.createRsaKey("gone"));
    expect(e.statusCode).toBe(409);
    expect(e.code).toBe("Conflict");
  });

  it("400 for a missing or unknown api-version, read from the encoded query", async () => {
    const missing = await emu.request("hsm1", "GET", "/keys");
    expect(missing.status).toBe(400);
    expect(missing.body.error.code).toBe("BadParameter");
    const unknown = await emu.request("hsm1", "GET", "/keys?api%2Dversion=1999-01-01");
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain("1999-01-01");
    const encoded = await emu.request("hsm1", "GET", "/keys?api%2Dversion=7.5");
    expect(encoded.status).toBe(200);
  });

  it("accepts every api-version of the REST specs: stable 2025-06-01, and on vaults the pre-7.0 versions", async () => {
    expect((await emu.request("hsm1", "GET", "/keys?api-version=2025-06-01")).status).toBe(200);
    expect((await emu.request("vault1", "GET", "/keys?api-version=2025-06-01")).status).toBe(200);
    for (const old of ["2016-10-01", "2015-06-01"]) {
      expect((await emu.request("vault1", "GET", `/keys?api-version=${old}`)).status, old).toBe(200);
      expect((await emu.request("hsm1", "GET", `/keys?api-version=${old}`)).status, old).toBe(400);
    }
  });

  it("job status polls need no api-version (the Azure-AsyncOperation URL carries none); a given one is still checked", async () => {
    const unknownJob = "0".repeat(32);
    for (const collection of ["backup", "restore"]) {
      const bare = await emu.request("hsm1", "GET", `/${collection}/${unknownJob}/pending`);
      expect(bare.status, collection).toBe(404);
      expect(bare.body.error.message).toContain(unknownJob);
      const unauthenticated = await emu.request("hsm1", "GET", `/${collection}/${unknownJob}/pending`, { token: null });
      expect(unauthenticated.status).toBe(401);
      const badVersion = await emu.request("hsm1", "GET", `/${collection}/${unknownJob}/pending?api-version=1999-01-01`);
      expect(badVersion.status).toBe(400);
    }
    // The security domain's status URL, likewise (this HSM was activated at creation).
    const domain = await emu.request("hsm1", "GET", "/securitydomain/download/pending");
    expect(domain.status).toBe(200);
    expect(domain.body.status).toBe("Success");
    // Starting a job still needs one.
    const start = await emu.request("hsm1", "POST", "/backup", { body: {} });
    expect(start.status).toBe(400);
    expect(start.body.error.message).toContain("'api-version' query parameter is missing");
  });

  it("every non-2xx carries {error:{code,message}} and x-ms-request-id", async () => {
    for (const [method, path] of [
      ["GET", "/nothing-here?api-version=2025-07-01"],
      ["DELETE", "/keys?api-version=2025-07-01"],
      ["POST", "/keys/k/create?api-version=2025-07-01"],
    ] as const) {
      const r = await emu.request("hsm1", method, path, { body: method === "POST" ? "{not json" : undefined });
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(typeof r.body.error.code).toBe("string");
      expect(typeof r.body.error.message).toBe("string");
      expect(r.headers["x-ms-request-id"]).toBeTruthy();
    }
  });
});
