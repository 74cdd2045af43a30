/**
 * A second, independent client: Debian's Azure SDK for Python (python3-azure) drives the emulator through
 * test/python/azure_sdk_client.py — keys, crypto, role assignments, full backup and restore and selective
 * key restore, with the SDK's own LRO polling (it polls the Azure-AsyncOperation URL exactly as returned, which
 * carries no api-version) and its own ManagedIdentityCredential over both identity protocols.
 *
 * Runs wherever an interpreter imports the SDK; under CI=true a missing SDK FAILS (.ci/run installs it).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAzurite, AZURITE_ACCOUNT_NAME, type AzuriteBlob } from "../support/azurite";
import { ADMIN_OID, startTestEmulator, type TestEmulator } from "../support/emulator";
import { findAzurePython, INSTALL_HINT, runPythonScenario } from "../support/pythonSdk";

const python = findAzurePython();
const inCi = process.env["CI"] === "true";
// A user-assigned identity attached to the emulated app (registered with the identity endpoint, HSM admin).
const PY_IDENTITY = "4c2a9e10-7b3d-4f5e-9a1c-2d3e4f5a6b7c";
const OTHER_OID = "4c2a9e10-7b3d-4f5e-9a1c-2d3e4f5a6b7d";
const CONTAINER = "pybackups";
const FOLDER = /^http:\/\/devstoreaccount1\.blob\.localhost:\d+\/pybackups\/mhsm-primary-\d{16}$/;

if (python === undefined) {
  // Outside CI the file is skipped on a machine without the SDK; CI must never silently lose this client.
  (inCi ? describe : describe.skip)("Python Azure SDK (python3-azure) is required", () => {
    it("finds an interpreter that imports azure.keyvault.administration", () => {
      throw new Error(INSTALL_HINT);
    });
  });
} else pythonSuite(python);

function pythonSuite(py: string): void {
  describe("the emulator with Debian's Azure SDK for Python", () => {
    let azurite: AzuriteBlob;
    let emu: TestEmulator;
    let hsmUrl: string;
    const base = (): Record<string, unknown> => ({ hsmUrl, caFile: emu.emulator.caFile });
    const adminToken = (): Promise<string> => emu.token("primary", ADMIN_OID);
    /** Runs a scenario with the SDK's own ManagedIdentityCredential, pointed at the emulator by either protocol's environment. */
    const asManagedIdentity = (scenario: string, protocol: "2019-08-01" | "2017-09-01"): Promise<any> => {
      const identity = emu.emulator.identity;
      if (identity === undefined) throw new Error("the emulator started without its identity endpoint");
      const env: Record<string, string> =
        protocol === "2019-08-01"
          ? { IDENTITY_ENDPOINT: identity.endpoint, IDENTITY_HEADER: identity.header }
          : { MSI_ENDPOINT: identity.endpoint, MSI_SECRET: identity.header };
      return runPythonScenario(py, { ...base(), scenario, credential: "managed-identity", clientId: PY_IDENTITY }, env);
    };

    beforeAll(async () => {
      azurite = await startAzurite();
      await azurite.blobServiceClient().createContainer(CONTAINER);
      emu = await startTestEmulator({
        hsms: ["primary"],
        admins: [ADMIN_OID, PY_IDENTITY],
        identity: { port: 0, clientIds: [PY_IDENTITY] },
        blobConnectionString: azurite.connectionString,
        tickIntervalMs: 60_000,
      });
      hsmUrl = emu.url("primary");
    });

    afterAll(async () => {
      await emu?.close();
      await azurite?.stop();
    });

    it("keys: create, get, update, list, rotation policy and rotate, random bytes, delete/recover, backup/purge/restore — as a managed identity over IDENTITY_ENDPOINT", async () => {
      const out = await asManagedIdentity("keys", "2019-08-01");
      expect(out.created).toMatchObject({ "py-rsa": { kty: "RSA-HSM" }, "py-ec": { kty: "EC-HSM" }, "py-oct": { kty: "oct-HSM" } });
      expect(out.created["py-rsa"].id).toMatch(new RegExp(`^${hsmUrl}/keys/py-rsa/[0-9a-f]{32}$`));
      expect(out.get).toMatchObject({ id: out.created["py-rsa"].id, n_bytes: 256, tags: { owner: "python" } });
      expect(out.updatedTags).toEqual({ owner: "python", tier: "1" });
      expect(out.listed).toEqual(["py-ec", "py-oct", "py-rsa"]);
      expect(out.policyExpiresIn).toBe("P180D");
      expect(out.rotatedVersionDiffers).toBe(true);
      expect(out.versions).toBe(2);
      expect(out.randomBytes).toBe(32);
      expect(out.deleted).toBe("py-ec");
      expect(out.recovered).toBe("py-ec");
      expect(out.afterPurge).toMatchObject({ status: 404, code: "KeyNotFound" });
      expect(out.restoredId).toBe(out.created["py-oct"].id);
      expect(out.missing).toEqual({ status: 404, code: "KeyNotFound" });
      // The calls were made by the managed identity the Python credential got a token for.
      const audit = await emu.control("primary", "GET", `/_emulator/audit?operationName=KeyCreate&oid=${PY_IDENTITY}`);
      expect(audit.body.value.length).toBeGreaterThanOrEqual(3);
    });

    it("crypto: RS256/PS256/ES256/ES384 sign and verify, RSA-OAEP-256, A256KW and A256GCM — as a managed identity over MSI_ENDPOINT (2017-09-01)", async () => {
      const out = await asManagedIdentity("crypto", "2017-09-01");
      for (const alg of ["RS256", "PS256", "ES256", "ES384"]) expect(out[alg], alg).toMatchObject({ verified: true, tamperedVerified: false });
      expect(out.ES256.signatureBytes).toBe(64);
      expect(out.ES384.signatureBytes).toBe(96);
      expect(out["RSA-OAEP-256"]).toBe(true);
      expect(out.A256KW).toEqual({ wrappedBytes: 40, roundTrip: true });
      expect(out.A256GCM).toEqual({ ivBytes: 12, tagBytes: 16, roundTrip: true });
    });

    it("role assignments: built-in definitions, an assignment at /keys/NAME grants exactly that key until deleted, custom roles", async () => {
      const out = await runPythonScenario(py, { ...base(), scenario: "rbac", token: await adminToken(), otherToken: await emu.token("primary", OTHER_OID), otherOid: OTHER_OID });
      expect(out.builtIn).toEqual(expect.arrayContaining(["Managed HSM Administrator", "Managed HSM Crypto User", "Managed HSM Backup User", "Managed HSM Crypto Auditor"]));
      expect(out.signBeforeAssignment).toEqual({ status: 403, code: "Forbidden" });
      expect(out.assignment).toMatchObject({ scope: "/keys/py-rbac-signer", principal: OTHER_OID });
      expect(out.gotAssignment).toBe(true);
      expect(out.listedAssignment).toBe(true);
      expect(out.signAfterAssignment).toBe(64);
      expect(out.otherKey).toEqual({ status: 403, code: "Forbidden" });
      expect(out.signAfterDeletion).toEqual({ status: 403, code: "Forbidden" });
      expect(out.custom).toEqual({ name: "Python signer (custom)", dataActions: ["Microsoft.KeyVault/managedHsm/keys/sign/action"] });
      expect(out.customAfterDeletion).toBe(false);
    });

    it("full backup, full restore and selective key restore with a SAS, polled as the SDK polls (no api-version on the status URL)", async () => {
      const since = new Date().toISOString();
      const out = await runPythonScenario(py, {
        ...base(),
        scenario: "backup",
        token: await adminToken(),
        // Production-style URL: the SDK splits folder URLs into container and folder by the first path segment.
        containerUrl: `http://${AZURITE_ACCOUNT_NAME}.blob.localhost:${azurite.port}/${CONTAINER}`,
        sas: azurite.containerSas(CONTAINER, "crdwl"),
        });
      expect(out.backupStatus).toBe("Succeeded");
      expect(out.folderUrl).toMatch(FOLDER);
      expect(out.restoreStatus).toBe("Succeeded");
      expect(out.afterFullRestore).toEqual({ full: true, single: true });
      expect(out.selectiveStatus).toBe("Succeeded");
      expect(out.afterSelectiveRestore).toBe(true);
      expect(out.selectiveExistingStatus).toBe("Succeeded");
      expect(out.missingFolder.status).toBe("Failed");
      expect(out.missingFolder.message).toMatch(/does not exist/);

      // The backup really is in Azurite, and the SDK's status polls carried no api-version and were answered.
      const folder = (out.folderUrl as string).split("/").pop() as string;
      const blobs: string[] = [];
      for await (const b of azurite.blobServiceClient().getContainerClient(CONTAINER).listBlobsFlat({ prefix: `${folder}/` })) blobs.push(b.name);
      expect(blobs).toEqual(expect.arrayContaining([`${folder}/keys/py-bk-full`, `${folder}/keys/py-bk-single`]));
      for (const operationName of ["BackupStatus", "RestoreStatus"]) {
        const polls = (await emu.control("primary", "GET", `/_emulator/audit?operationName=${operationName}&since=${encodeURIComponent(since)}`)).body.value as Array<{
          resultSignature: string;
          properties: { requestUri: string };
        }>;
        expect(polls.length, operationName).toBeGreaterThan(0);
        for (const poll of polls) {
          expect(poll.properties.requestUri).not.toContain("api-version");
          expect(poll.resultSignature).toBe("OK");
        }
      }
    }, 180_000);
  });
}
