/**
 * The emulator's App Service-style managed identity endpoint, driven by the real `ManagedIdentityCredential`
 * (IDENTITY_ENDPOINT + IDENTITY_HEADER in the environment) and a real KeyClient over HTTPS.
 *
 * MSAL caches the managed identity source (endpoint + header) and its tokens process-wide, so this file
 * starts exactly one identity endpoint and sets the environment before the first credential is used.
 */
import { readFileSync, statSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ManagedIdentityCredential } from "@azure/identity";
import { KeyClient } from "@azure/keyvault-keys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_OID, clientOptionsFor, spawnEmulatorProcess, startTestEmulator, type TestEmulator } from "../support/emulator";

// A user-assigned identity's client id; the emulator uses it as the oid as well (granted admin roles below).
const GRANTED_CLIENT_ID = "3f1c2b7e-5a6d-4c8e-9b0a-1d2e3f405162";
// An identity with no role assignment at all.
const UNGRANTED_CLIENT_ID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
// A well-formed client id that is NOT attached to the emulated app (and holds admin roles: no token anyway).
const UNREGISTERED_CLIENT_ID = "11111111-2222-4333-8444-555555555555";

interface HttpAnswer {
  status: number;
  body: any;
}

function get(url: string, headers: Record<string, string> = {}, method = "GET"): Promise<HttpAnswer> {
  return new Promise((resolvePromise, reject) => {
    const req = httpRequest(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        resolvePromise({ status: res.statusCode ?? 0, body: text === "" ? undefined : JSON.parse(text) });
      });
    });
    req.on("error", reject);
    req.end();
  });
}

function claimsOf(token: string): Record<string, unknown> {
  const body = token.split(".")[1] ?? "";
  return JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as Record<string, unknown>;
}

describe("managed identity endpoint (App Service protocol)", () => {
  let emu: TestEmulator;
  let endpoint: string;
  let header: string;
  const savedEnv = { endpoint: process.env["IDENTITY_ENDPOINT"], header: process.env["IDENTITY_HEADER"] };

  beforeAll(async () => {
    emu = await startTestEmulator({ hsms: ["primary"], vaults: ["app"], admins: [ADMIN_OID, GRANTED_CLIENT_ID, UNREGISTERED_CLIENT_ID], identity: { port: 0, clientIds: [GRANTED_CLIENT_ID, UNGRANTED_CLIENT_ID] } });
    const identity = emu.emulator.identity;
    if (identity === undefined) throw new Error("the emulator started without its identity endpoint");
    endpoint = identity.endpoint;
    header = readFileSync(identity.headerFile, "utf8").trim();
    process.env["IDENTITY_ENDPOINT"] = endpoint;
    process.env["IDENTITY_HEADER"] = header;
  });

  afterAll(async () => {
    if (savedEnv.endpoint === undefined) delete process.env["IDENTITY_ENDPOINT"];
    else process.env["IDENTITY_ENDPOINT"] = savedEnv.endpoint;
    if (savedEnv.header === undefined) delete process.env["IDENTITY_HEADER"];
    else process.env["IDENTITY_HEADER"] = savedEnv.header;
    await emu?.close();
  });

  it("serves on loopback http at /msi/token, keeps the header secret in a 0600 file and reports it in the ready line", () => {
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/msi\/token$/);
    expect(header).toMatch(/^[0-9a-f]{64}$/);
    const headerFile = emu.emulator.identity?.headerFile ?? "";
    expect(headerFile).toBe(join(emu.emulator.stateDir, "identity-header"));
    expect(statSync(headerFile).mode & 0o077).toBe(0);
    expect(emu.emulator.readyLine().identity).toEqual({ endpoint, headerFile });
  });

  it("the real ManagedIdentityCredential gets a token whose oid is the client id and aud the resource", async () => {
    const credential = new ManagedIdentityCredential({ clientId: GRANTED_CLIENT_ID });
    const token = await credential.getToken("https://managedhsm.azure.net/.default");
    expect(token.tokenType).toBe("Bearer");
    expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now() + 30 * 60_000);
    const claims = claimsOf(token.token);
    expect(claims["oid"]).toBe(GRANTED_CLIENT_ID);
    expect(claims["aud"]).toBe("https://managedhsm.azure.net");
    expect(claims["tid"]).toBe(emu.emulator.tenantId);
  });

  it("a real KeyClient works on the HSM and on a vault with the managed identity", async () => {
    const credential = new ManagedIdentityCredential({ clientId: GRANTED_CLIENT_ID });
    const hsm = new KeyClient(emu.url("primary"), credential, clientOptionsFor(emu.ca));
    const created = await hsm.createRsaKey("mi-created", { keySize: 2048 });
    expect(created.id).toContain(`${emu.url("primary")}/keys/mi-created/`);
    const names: string[] = [];
    for await (const p of hsm.listPropertiesOfKeys()) names.push(p.name);
    expect(names).toContain("mi-created");

    const vault = new KeyClient(emu.url("app"), credential, clientOptionsFor(emu.ca));
    const vaultKey = await vault.createEcKey("mi-vault-key", { curve: "P-256" });
    expect(vaultKey.keyType).toBe("EC");
  });

  it("an identity without role assignments is authenticated but refused with 403 Forbidden", async () => {
    const credential = new ManagedIdentityCredential({ clientId: UNGRANTED_CLIENT_ID });
    const hsm = new KeyClient(emu.url("primary"), credential, clientOptionsFor(emu.ca));
    await expect(hsm.getKey("mi-created")).rejects.toMatchObject({ statusCode: 403, code: "Forbidden" });
  });

  it("refuses a wrong header with 401 and a missing header with 400, as JSON", async () => {
    const q = "?api-version=2019-08-01&resource=https%3A%2F%2Fmanagedhsm.azure.net&client_id=" + GRANTED_CLIENT_ID;
    const wrong = await get(endpoint + q, { "x-identity-header": "0".repeat(64) });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe("Unauthorized");
    expect(wrong.body.access_token).toBeUndefined();
    const missing = await get(endpoint + q);
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toMatch(/X-IDENTITY-HEADER/);
    const ok = await get(endpoint + q, { "x-identity-header": header });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ token_type: "Bearer", resource: "https://managedhsm.azure.net", client_id: GRANTED_CLIENT_ID });
    expect(ok.body.expires_on).toMatch(/^\d+$/);
  });

  it("mints vault, Event Grid and Storage audiences; refuses unknown resources, bad api-versions, non-GUID ids and system-assigned without a default oid", async () => {
    const h = { "x-identity-header": header };
    const tokenFor = async (resource: string): Promise<HttpAnswer> =>
      get(`${endpoint}?api-version=2019-08-01&resource=${encodeURIComponent(resource)}&client_id=${GRANTED_CLIENT_ID}`, h);
    for (const resource of ["https://vault.azure.net", "https://eventgrid.azure.net", "https://storage.azure.com/"]) {
      const answer = await tokenFor(resource);
      expect(answer.status).toBe(200);
      expect(claimsOf(answer.body.access_token as string)["aud"]).toBe(resource.replace(/\/$/, ""));
    }
    expect((await tokenFor("https://graph.microsoft.com")).status).toBe(400);
    const badVersion = await get(`${endpoint}?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net&client_id=${GRANTED_CLIENT_ID}`, h);
    expect(badVersion.status).toBe(400);
    expect(badVersion.body.error.message).toMatch(/2019-08-01.*2017-09-01/);
    const badId = await get(`${endpoint}?api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net&client_id=rotation`, h);
    expect(badId.status).toBe(400);
    const systemAssigned = await get(`${endpoint}?api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net`, h);
    expect(systemAssigned.status).toBe(400);
    expect(systemAssigned.body.error.message).toMatch(/--identity-default-oid/);
    const post = await get(`${endpoint}?api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net`, h, "POST");
    expect(post.status).toBe(405);
  });
});

describe("managed identity endpoint: registered identities only, ARM audience, 2017-09-01 protocol", () => {
  let emu: TestEmulator;
  let endpoint: string;
  let header: string;
  const logged: string[] = [];
  beforeAll(async () => {
    emu = await startTestEmulator({ hsms: ["primary"], admins: [ADMIN_OID, UNREGISTERED_CLIENT_ID], identity: { port: 0, clientIds: [GRANTED_CLIENT_ID] }, log: (l) => logged.push(l) });
    const identity = emu.emulator.identity;
    if (identity === undefined) throw new Error("the emulator started without its identity endpoint");
    endpoint = identity.endpoint;
    header = identity.header;
  });
  afterAll(async () => {
    await emu?.close();
  });

  it("refuses an unregistered client id (even an administrator's) with the platform's 400, by every id parameter and protocol", async () => {
    const resource = "resource=https%3A%2F%2Fmanagedhsm.azure.net";
    const refusals = [
      await get(`${endpoint}?api-version=2019-08-01&${resource}&client_id=${UNREGISTERED_CLIENT_ID}`, { "x-identity-header": header }),
      await get(`${endpoint}?api-version=2019-08-01&${resource}&object_id=${UNREGISTERED_CLIENT_ID}`, { "x-identity-header": header }),
      await get(`${endpoint}?api-version=2019-08-01&${resource}&principal_id=${ADMIN_OID}`, { "x-identity-header": header }),
      await get(`${endpoint}?api-version=2017-09-01&${resource}&clientid=${UNREGISTERED_CLIENT_ID}`, { secret: header }),
      // No default oid: the system-assigned identity does not exist either.
      await get(`${endpoint}?api-version=2017-09-01&${resource}`, { secret: header }),
    ];
    for (const refused of refusals) {
      expect(refused.status).toBe(400);
      expect(refused.body.access_token).toBeUndefined();
      expect(refused.body.statusCode).toBe(400);
      expect(refused.body.error.code).toBe("BadRequest");
    }
    expect(refusals[0]?.body.message).toMatch(/Unable to load the proper Managed Identity.*--managed-identity/);
    expect(logged.some((l) => l.includes("refused") && l.includes(UNREGISTERED_CLIENT_ID))).toBe(true);
    const ok = await get(`${endpoint}?api-version=2019-08-01&${resource}&client_id=${GRANTED_CLIENT_ID.toUpperCase()}`, { "x-identity-header": header });
    expect(ok.status).toBe(200);
  });

  it("mints ARM-audience tokens (with and without the trailing slash) for a registered identity", async () => {
    for (const resource of ["https://management.azure.com", "https://management.azure.com/", "https://management.azure.com/.default"]) {
      const answer = await get(`${endpoint}?api-version=2019-08-01&resource=${encodeURIComponent(resource)}&client_id=${GRANTED_CLIENT_ID}`, { "x-identity-header": header });
      expect(answer.status).toBe(200);
      expect(answer.body.resource).toBe(resource);
      expect(claimsOf(answer.body.access_token as string)).toMatchObject({ aud: "https://management.azure.com", oid: GRANTED_CLIENT_ID });
    }
  });

  it("speaks 2017-09-01: secret header, clientid parameter, epoch expires_on, no client_id in the answer", async () => {
    const q = `?api-version=2017-09-01&resource=${encodeURIComponent("https://vault.azure.net")}&clientid=${GRANTED_CLIENT_ID}`;
    const ok = await get(endpoint + q, { secret: header, metadata: "true" });
    expect(ok.status).toBe(200);
    expect(Object.keys(ok.body).sort()).toEqual(["access_token", "expires_on", "resource", "token_type"]);
    expect(ok.body.token_type).toBe("Bearer");
    expect(Number(ok.body.expires_on)).toBeGreaterThan(Date.now() / 1000 + 1800);
    expect(claimsOf(ok.body.access_token as string)).toMatchObject({ aud: "https://vault.azure.net", oid: GRANTED_CLIENT_ID });
    // The 2019-08-01 header does not authenticate a 2017-09-01 request, and a wrong secret is 401.
    const wrongHeader = await get(endpoint + q, { "x-identity-header": header });
    expect(wrongHeader.status).toBe(400);
    expect(wrongHeader.body.error.message).toMatch(/secret header is missing.*MSI_SECRET/);
    const wrongSecret = await get(endpoint + q, { secret: "0".repeat(64) });
    expect(wrongSecret.status).toBe(401);
    expect(wrongSecret.body.access_token).toBeUndefined();
  });
});

describe("identity endpoint from the CLI", () => {
  it("--identity 0 --identity-default-oid serves system-assigned tokens; the ready line names the header file, never the secret", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hsm-identity-cli-"));
    const defaultOid = "5b0e8f7a-1c2d-4e3f-8a9b-0c1d2e3f4a5b";
    const child = await spawnEmulatorProcess(["--state-dir", dir, "--hsm", "primary=0", "--identity", "0", "--identity-default-oid", defaultOid, "--managed-identity", GRANTED_CLIENT_ID]);
    try {
      const ready = child.ready as typeof child.ready & { identity?: { endpoint: string; headerFile: string } };
      expect(ready.identity?.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/msi\/token$/);
      expect(ready.identity?.headerFile).toBe(join(dir, "identity-header"));
      const secret = readFileSync(join(dir, "identity-header"), "utf8").trim();
      expect(JSON.stringify(ready)).not.toContain(secret);
      const answer = await get(`${ready.identity?.endpoint}?api-version=2019-08-01&resource=https%3A%2F%2Fmanagedhsm.azure.net`, { "x-identity-header": secret });
      expect(answer.status).toBe(200);
      expect(claimsOf(answer.body.access_token as string)["oid"]).toBe(defaultOid);
      const registered = await get(`${ready.identity?.endpoint}?api-version=2019-08-01&resource=https%3A%2F%2Fmanagedhsm.azure.net&client_id=${GRANTED_CLIENT_ID}`, { "x-identity-header": secret });
      expect(claimsOf(registered.body.access_token as string)["oid"]).toBe(GRANTED_CLIENT_ID);
      const unregistered = await get(`${ready.identity?.endpoint}?api-version=2019-08-01&resource=https%3A%2F%2Fmanagedhsm.azure.net&client_id=${UNGRANTED_CLIENT_ID}`, { "x-identity-header": secret });
      expect(unregistered.status).toBe(400);
      expect(child.stderr()).not.toContain(secret);
    } finally {
      child.kill("SIGTERM");
      await child.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
