/**
 * The real `ManagedIdentityCredential` pointed at the emulator's identity endpoint through the OLDER
 * environment (`MSI_ENDPOINT` + `MSI_SECRET`, API 2017-09-01, which MSAL serves with its Machine Learning
 * source). A file of its own: MSAL caches the managed identity source process-wide, and the sibling file
 * identityEndpoint.test.ts uses IDENTITY_ENDPOINT.
 */
import { ManagedIdentityCredential } from "@azure/identity";
import { KeyClient } from "@azure/keyvault-keys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_OID, clientOptionsFor, startTestEmulator, type TestEmulator } from "../support/emulator";

const REGISTERED = "6d1f0a2b-3c4d-4e5f-8a6b-7c8d9e0f1a2b";
const UNREGISTERED = "6d1f0a2b-3c4d-4e5f-8a6b-7c8d9e0f1a2c";
const ENV_NAMES = ["MSI_ENDPOINT", "MSI_SECRET", "IDENTITY_ENDPOINT", "IDENTITY_HEADER"] as const;

describe("ManagedIdentityCredential over MSI_ENDPOINT + MSI_SECRET (2017-09-01)", () => {
  let emu: TestEmulator;
  const saved = Object.fromEntries(ENV_NAMES.map((n) => [n, process.env[n]]));

  beforeAll(async () => {
    emu = await startTestEmulator({ hsms: ["primary"], admins: [ADMIN_OID, REGISTERED, UNREGISTERED], identity: { port: 0, clientIds: [REGISTERED] } });
    const identity = emu.emulator.identity;
    if (identity === undefined) throw new Error("the emulator started without its identity endpoint");
    delete process.env["IDENTITY_ENDPOINT"];
    delete process.env["IDENTITY_HEADER"];
    process.env["MSI_ENDPOINT"] = identity.endpoint;
    process.env["MSI_SECRET"] = identity.header;
  });

  afterAll(async () => {
    for (const n of ENV_NAMES) {
      if (saved[n] === undefined) delete process.env[n];
      else process.env[n] = saved[n];
    }
    await emu?.close();
  });

  it("a registered identity gets HSM and ARM tokens with a correct expiry, and a KeyClient works with them", async () => {
    const credential = new ManagedIdentityCredential({ clientId: REGISTERED });
    const arm = await credential.getToken("https://management.azure.com/.default");
    expect(arm.expiresOnTimestamp).toBeGreaterThan(Date.now() + 30 * 60_000);
    expect(arm.expiresOnTimestamp).toBeLessThan(Date.now() + 2 * 3600_000);
    const claims = JSON.parse(Buffer.from(arm.token.split(".")[1] ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
    expect(claims).toMatchObject({ aud: "https://management.azure.com", oid: REGISTERED });
    const keys = new KeyClient(emu.url("primary"), credential, clientOptionsFor(emu.ca));
    const key = await keys.createEcKey("legacy-mi", { curve: "P-256" });
    expect(key.keyType).toBe("EC-HSM");
  });

  it("an unregistered client id gets no token, though it holds admin roles", async () => {
    const credential = new ManagedIdentityCredential({ clientId: UNREGISTERED });
    await expect(credential.getToken("https://managedhsm.azure.net/.default")).rejects.toThrow(/Unable to load the proper Managed Identity|400/);
  });
});
