/**
 * Managed HSM full backup / restore / selective key restore, end to end through the shared admin client
 * (shared/hsm) → emulator over HTTPS → the real Azurite Blob service.
 */
import { createHash, generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CryptographyClient, KeyClient, type KeyClientOptions } from "@azure/keyvault-keys";
import { RestError } from "@azure/core-rest-pipeline";
import { startEmulator, type RunningEmulator } from "../../emulator/index";
import { KeyVaultBackupClient } from "../../shared/hsm/keyVaultBackupClient";
import { KeyVaultAccessControlClient } from "../../shared/hsm/keyVaultAccessControlClient";
import { KnownManagedHsmRoleDefinitionIds } from "../../shared/hsm/keyVaultAccessControlClientModels";
import { adminJobResumeToken } from "../../shared/hsm/keyVaultAdminPoller";
import { startAzurite, type AzuriteBlob } from "../support/azurite";
import { rawHttpsRequest } from "../support/emulator";

const ADMIN = "0a0a0a0a-0000-4000-8000-00000000ad01";
const OTHER_PRINCIPAL = "0b0b0b0b-0000-4000-8000-0000000000b2";
const CONTAINER = "backups";
const POLL = { updateIntervalInMs: 25 };
const FOLDER_URI = /\/backups\/mhsm-primary-\d{16}$/;

let azurite: AzuriteBlob;
let emu: RunningEmulator;
let stateDir: string;

const clientOptions = (): KeyClientOptions & { tlsOptions: { ca: string }; disableChallengeResourceVerification: true } => ({
  tlsOptions: { ca: emu.caPem },
  disableChallengeResourceVerification: true,
  retryOptions: { maxRetries: 0 },
});
const url = (hsm: string): string => {
  const instance = emu.instances[hsm];
  if (!instance) throw new Error(`no instance ${hsm}`);
  return instance.url;
};
const backupClient = (hsm: string): KeyVaultBackupClient => new KeyVaultBackupClient(url(hsm), emu.credential(ADMIN), clientOptions());
const keyClient = (hsm: string): KeyClient => new KeyClient(url(hsm), emu.credential(ADMIN), clientOptions());
const rbacClient = (hsm: string): KeyVaultAccessControlClient => new KeyVaultAccessControlClient(url(hsm), emu.credential(ADMIN), clientOptions());
const containerUrl = (): string => azurite.containerUrl(CONTAINER);
/** The job as the status URL reports it (the service's wire shape, statusDetails included). */
const adminJobStatus = async (hsm: string, collection: "backup" | "restore", jobId: string): Promise<Record<string, unknown>> => {
  const answer = await rawHttpsRequest(emu.caPem, `${url(hsm)}/${collection}/${jobId}/pending`, "GET", { headers: { authorization: `Bearer ${await emu.token(ADMIN)}` } });
  expect(answer.status).toBe(200);
  return answer.body as Record<string, unknown>;
};

async function backupOf(hsm: string): Promise<string> {
  const poller = await backupClient(hsm).beginBackup(containerUrl(), POLL);
  const result = await poller.pollUntilDone();
  if (!result.folderUri) throw new Error("backup returned no folderUri");
  return result.folderUri;
}

async function folderBlobs(folderUri: string): Promise<Map<string, string>> {
  const folder = folderUri.split("/").pop() as string;
  const container = azurite.blobServiceClient().getContainerClient(CONTAINER);
  const blobs = new Map<string, string>();
  for await (const item of container.listBlobsFlat({ prefix: `${folder}/` })) {
    blobs.set(item.name, (await container.getBlobClient(item.name).downloadToBuffer()).toString("utf8"));
  }
  return blobs;
}

/** Everything observable about an HSM's keys and RBAC, host-independent, for before/after comparisons. */
async function observe(hsm: string): Promise<unknown> {
  const client = keyClient(hsm);
  const keys: Record<string, unknown> = {};
  for await (const props of client.listPropertiesOfKeys()) {
    const versions: unknown[] = [];
    for await (const v of client.listPropertiesOfKeyVersions(props.name)) {
      versions.push({ version: v.version, tags: v.tags ?? {}, enabled: v.enabled, expiresOn: v.expiresOn?.getTime(), createdOn: v.createdOn?.getTime() });
    }
    versions.sort((a, b) => String((a as { version: string }).version).localeCompare(String((b as { version: string }).version)));
    const latest = await client.getKey(props.name);
    let policy: unknown;
    try {
      const p = await client.getKeyRotationPolicy(props.name);
      policy = { lifetimeActions: p.lifetimeActions, expiresIn: p.expiresIn };
    } catch (e) {
      policy = (e as RestError).code ?? "none";
    }
    keys[props.name] = { latest: latest.properties.version, n: latest.key?.n ? Buffer.from(latest.key.n).toString("base64") : undefined, versions, policy };
  }
  const assignments: unknown[] = [];
  for await (const a of rbacClient(hsm).listRoleAssignments("/")) {
    assignments.push({ name: a.name, ...a.properties });
  }
  assignments.sort((a, b) => String((a as { name: string }).name).localeCompare(String((b as { name: string }).name)));
  const customRoles: unknown[] = [];
  for await (const d of rbacClient(hsm).listRoleDefinitions("/")) {
    if (d.roleType === "CustomRole") customRoles.push({ name: d.name, roleName: d.roleName, permissions: d.permissions });
  }
  return { keys, assignments, customRoles };
}

/** Blob texts must not contain any of the given private values, nor anything shaped like key material. */
function expectNoKeyMaterial(blobs: Map<string, string>, secrets: string[]): void {
  expect(blobs.size).toBeGreaterThan(0);
  for (const [name, text] of blobs) {
    for (const secret of secrets) expect(text.includes(secret), `${name} leaks key material`).toBe(false);
    expect(text).not.toMatch(/-----BEGIN|"d"\s*:|"k"\s*:|"jwk"|"dp"\s*:/);
    expect(text).not.toContain("payments"); // tags are encrypted too
  }
}

async function expectFailed(promise: Promise<unknown>, pattern: RegExp): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(error, "the job should have failed").toBeInstanceOf(Error);
  expect((error as Error).message).toMatch(pattern);
  return error as Error;
}

const b64url = (s: string): Uint8Array => Buffer.from(s, "base64url");

beforeAll(async () => {
  azurite = await startAzurite();
  await azurite.blobServiceClient().createContainer(CONTAINER);
  stateDir = mkdtempSync(join(tmpdir(), "hsm-admin-"));
  emu = await startEmulator({
    stateDir,
    instances: [
      { kind: "managedHsm", name: "primary", port: 0 },
      { kind: "managedHsm", name: "dr", port: 0, securityDomain: "primary" },
      { kind: "managedHsm", name: "drfresh", port: 0, securityDomain: "primary" },
      { kind: "managedHsm", name: "other", port: 0 },
    ],
    admins: [ADMIN],
    blobConnectionString: azurite.connectionString,
    tickIntervalMs: 60_000,
    log: () => undefined,
  });
});

afterAll(async () => {
  azurite?.resume();
  await emu?.close();
  await azurite?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe("full backup, restore and selective key restore", () => {
  // Private values of imported keys: none of them may appear in any backup blob.
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" });
  const aesKey = randomBytes(32);
  let folderMi = "";
  const secrets = (): string[] => [rsa.d!, rsa.p!, rsa.q!, aesKey.toString("base64url"), aesKey.toString("base64"), Buffer.from(rsa.d!, "base64url").toString("base64")];

  it("backs up primary with the HSM's managed identity: the folder exists and holds no readable key material", async () => {
    const keys = keyClient("primary");
    await keys.importKey(
      "imported-rsa",
      { kty: "RSA-HSM", n: b64url(rsa.n!), e: b64url(rsa.e!), d: b64url(rsa.d!), p: b64url(rsa.p!), q: b64url(rsa.q!), dp: b64url(rsa.dp!), dq: b64url(rsa.dq!), qi: b64url(rsa.qi!), keyOps: ["sign", "verify"] },
      { hardwareProtected: true },
    );
    await keys.importKey("imported-aes", { kty: "oct-HSM", k: aesKey, keyOps: ["wrapKey", "unwrapKey"] }, { hardwareProtected: true });
    await keys.createRsaKey("signer", { tags: { owner: "payments", tier: "1" } });
    await keys.updateKeyRotationPolicy("signer", { lifetimeActions: [{ action: "Rotate", timeAfterCreate: "P90D" }], expiresIn: "P180D" });
    await keys.rotateKey("signer");
    await keys.createEcKey("ec-key", { curve: "P-256" });
    const deleting = await keys.beginDeleteKey("ec-key", { intervalInMs: 25 });
    await deleting.pollUntilDone();
    await rbacClient("primary").createRoleAssignment("/keys/signer", randomUUID(), KnownManagedHsmRoleDefinitionIds.CryptoUser, OTHER_PRINCIPAL);
    await rbacClient("primary").setRoleDefinition("/", { roleName: "Signer (custom)", permissions: [{ dataActions: ["Microsoft.KeyVault/managedHsm/keys/sign/action"] }] });

    const poller = await backupClient("primary").beginBackup(containerUrl(), POLL);
    expect(poller.getOperationState().jobId).toMatch(/^[0-9a-f]{32}$/);
    const result = await poller.pollUntilDone();
    expect(result.folderUri).toMatch(FOLDER_URI);
    expect(result.startTime).toBeInstanceOf(Date);
    expect(result.endTime).toBeInstanceOf(Date);
    expect(poller.getOperationState().status).toBe("Succeeded");
    folderMi = result.folderUri as string;

    const blobs = await folderBlobs(folderMi);
    const folder = folderMi.split("/").pop() as string;
    expect([...blobs.keys()].sort()).toEqual(
      [`${folder}/deletedkeys/ec-key`, `${folder}/keys/imported-aes`, `${folder}/keys/imported-rsa`, `${folder}/keys/signer`, `${folder}/manifest`, `${folder}/rbac`].sort(),
    );
    expectNoKeyMaterial(blobs, secrets());
  });

  it("backs up primary with a container SAS (crdw)", async () => {
    const poller = await backupClient("primary").beginBackup(containerUrl(), azurite.containerSas(CONTAINER, "crdw"), POLL);
    const { folderUri } = await poller.pollUntilDone();
    expect(folderUri).toMatch(FOLDER_URI);
    const blobs = await folderBlobs(folderUri as string);
    expect(blobs.size).toBe(6);
    expectNoKeyMaterial(blobs, secrets());
  });

  it("fails a backup whose SAS lacks write permission, naming the permission", async () => {
    const poller = await backupClient("primary").beginBackup(containerUrl(), azurite.containerSas(CONTAINER, "rl"), POLL);
    await expectFailed(poller.pollUntilDone(), /lacks the 'c' \(create\), 'd' \(delete\), 'w' \(write\) permissions.*sp=crdw/);
    const state = poller.getOperationState();
    expect(state.status).toBe("Failed");
    expect(state.statusDetails).toMatch(/'w' \(write\)/);
  });

  it("fails a backup into a missing container, saying to create it", async () => {
    const poller = await backupClient("primary").beginBackup(azurite.containerUrl("no-such-container"), POLL);
    await expectFailed(poller.pollUntilDone(), /container does not exist.*Create the container first/);
  });

  it("fails a backup when storage is unreachable", async () => {
    const poller = await backupClient("primary").beginBackup("http://127.0.0.1:9/devstoreaccount1/backups", POLL);
    await expectFailed(poller.pollUntilDone(), /Storage is unreachable/);
  });

  it("restores primary's backup into dr (same security domain) after dr's own backup: everything identical", async () => {
    await keyClient("dr").createRsaKey("dr-only");
    await backupOf("dr");
    const restore = await backupClient("dr").beginRestore(folderMi, POLL);
    const result = await restore.pollUntilDone();
    expect(result.endTime).toBeInstanceOf(Date);
    expect(restore.getOperationState().status).toBe("Succeeded");

    expect(await observe("dr")).toEqual(await observe("primary"));
    const drKeys: string[] = [];
    for await (const k of keyClient("dr").listPropertiesOfKeys()) drKeys.push(k.name);
    expect(drKeys.sort()).toEqual(["imported-aes", "imported-rsa", "signer"]);
    const deleted = await keyClient("dr").getDeletedKey("ec-key");
    expect(deleted.name).toBe("ec-key");

    // A signature made on primary verifies on dr: dr holds the same private key.
    const digest = createHash("sha256").update("restore drill").digest();
    const primaryKey = await keyClient("primary").getKey("signer");
    const signature = await new CryptographyClient(primaryKey.id as string, emu.credential(ADMIN), clientOptions()).sign("RS256", digest);
    const drKey = await keyClient("dr").getKey("signer", { version: primaryKey.properties.version as string });
    const verified = await new CryptographyClient(drKey.id as string, emu.credential(ADMIN), clientOptions()).verify("RS256", digest, signature.result);
    expect(verified.result).toBe(true);
  });

  it("fails a restore from another security domain and leaves the target unchanged", async () => {
    await keyClient("other").createRsaKey("other-key");
    await backupOf("other");
    const before = await observe("other");
    const restore = await backupClient("other").beginRestore(folderMi, POLL);
    await expectFailed(restore.pollUntilDone(), /different security domain/);
    expect(restore.getOperationState().statusDetails).toMatch(/share a security domain/);
    expect(await observe("other")).toEqual(before);
  });

  it("rejects a restore into an HSM without a recent backup of itself, stating the rule, and changes nothing", async () => {
    await keyClient("drfresh").createRsaKey("fresh-key");
    const before = await observe("drfresh");
    const error = (await backupClient("drfresh")
      .beginRestore(folderMi, POLL)
      .then(() => undefined, (e: unknown) => e)) as RestError;
    expect(error).toBeInstanceOf(RestError);
    expect(error.statusCode).toBe(400);
    expect(error.message).toMatch(/must have completed a full backup of itself within the last 30 minutes/);
    const pre = await backupClient("drfresh").beginPreRestore(folderMi, POLL);
    await expectFailed(pre.pollUntilDone(), /within the last 30 minutes/);
    expect(await observe("drfresh")).toEqual(before);
  });

  it("stops accepting a restore once the target's last backup is older than the window (emulator clock)", async () => {
    const folderUri = await backupOf("other");
    await emu.instances.other!.instance.shiftClock(31 * 60_000);
    const error = (await backupClient("other")
      .beginRestore(folderUri, POLL)
      .then(() => undefined, (e: unknown) => e)) as RestError;
    expect(error).toBeInstanceOf(RestError);
    expect(error.statusCode).toBe(400);
    expect(error.message).toMatch(/within the last 30 minutes.*The last one completed 31 minutes ago/);
    await backupOf("other");
    await (await backupClient("other").beginRestore(folderUri, POLL)).pollUntilDone();
  });

  it("fails a restore of a tampered backup and leaves the target unchanged", async () => {
    const folderUri = await backupOf("primary");
    const folder = folderUri.split("/").pop() as string;
    const blob = azurite.blobServiceClient().getContainerClient(CONTAINER).getBlockBlobClient(`${folder}/keys/signer`);
    const envelope = JSON.parse((await blob.downloadToBuffer()).toString("utf8")) as { ciphertext: string };
    const bytes = Buffer.from(envelope.ciphertext, "base64");
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0x01;
    envelope.ciphertext = bytes.toString("base64");
    const text = JSON.stringify(envelope);
    await blob.upload(text, Buffer.byteLength(text));

    await keyClient("dr").createRsaKey("dr-after-restore");
    await backupOf("dr");
    const before = await observe("dr");
    const restore = await backupClient("dr").beginRestore(folderUri, POLL);
    await expectFailed(restore.pollUntilDone(), /keys\/signer.*(modified|corrupt)/);
    expect(await observe("dr")).toEqual(before);
  });

  it("answers 409 to a second job while one runs, and refuses data-plane calls during a restore", async () => {
    azurite.pause();
    try {
      const first = await backupClient("primary").beginBackup(containerUrl(), POLL);
      const jobId = first.getOperationState().jobId as string;
      const second = (await backupClient("primary")
        .beginBackup(containerUrl(), POLL)
        .then(() => undefined, (e: unknown) => e)) as RestError;
      expect(second).toBeInstanceOf(RestError);
      expect(second.statusCode).toBe(409);
      expect(second.code).toBe("Conflict");
      expect(second.message).toContain(jobId);
      azurite.resume();
      expect((await first.pollUntilDone()).folderUri).toMatch(FOLDER_URI);

      await backupOf("dr");
      azurite.pause();
      const restore = await backupClient("dr").beginRestore(folderMi, POLL);
      const refused = (await keyClient("dr")
        .getKey("dr-after-restore")
        .then(() => undefined, (e: unknown) => e)) as RestError;
      expect(refused).toBeInstanceOf(RestError);
      expect(refused.statusCode).toBe(409);
      expect(refused.message).toMatch(/full restore is running/);
      await restore.poll(); // status polling still works in restore mode
      expect(restore.getOperationState().status).toBe("InProgress");
      azurite.resume();
      await restore.pollUntilDone();
      expect((await keyClient("dr").getKey("signer")).name).toBe("signer");
    } finally {
      azurite.resume();
    }
  });

  it("restores one purged key selectively from a full backup", async () => {
    const keys = keyClient("primary");
    const v1 = await keys.createRsaKey("sel-key", { tags: { purpose: "selective" } });
    const v2 = await keys.createRsaKey("sel-key");
    const folderUri = await backupOf("primary");
    await (await keys.beginDeleteKey("sel-key", { intervalInMs: 25 })).pollUntilDone();
    await keys.purgeDeletedKey("sel-key");
    await expect(keys.getKey("sel-key")).rejects.toMatchObject({ statusCode: 404 });

    const poller = await backupClient("primary").beginSelectiveKeyRestore("sel-key", folderUri, POLL);
    await poller.pollUntilDone();
    const restored = await keys.getKey("sel-key");
    expect(restored.properties.version).toBe(v2.properties.version);
    const versions: string[] = [];
    for await (const v of keys.listPropertiesOfKeyVersions("sel-key")) versions.push(v.version as string);
    expect(versions.sort()).toEqual([v1.properties.version, v2.properties.version].sort());
    expect((await keys.getKey("sel-key", { version: v1.properties.version as string })).properties.tags).toEqual({ purpose: "selective" });


    // A key that exists is not overwritten: versions it lacks come back, the ones it has are kept, and the job
    // succeeds saying so (as the service does). The newest version stays current.
    const v3 = await keys.createRsaKey("sel-key", { tags: { purpose: "newest" } });
    await keys.updateKeyProperties("sel-key", v2.properties.version as string, { tags: { edited: "after-backup" } });
    const again = await backupClient("primary").beginSelectiveKeyRestore("sel-key", folderUri, POLL);
    await again.pollUntilDone();
    const job = await adminJobStatus("primary", "restore", again.getOperationState().jobId as string);
    expect(job).toMatchObject({ status: "Succeeded", statusDetails: "Number of successful key versions restored: 0, Number of key versions could not overwrite: 2" });
    expect((await keys.getKey("sel-key", { version: v2.properties.version as string })).properties.tags).toEqual({ edited: "after-backup" });
    expect((await keys.getKey("sel-key")).properties.version).toBe(v3.properties.version);

    // A fresh key of the same name (the old one purged) lacks both backed-up versions: they are added behind its
    // current version, which stays current.
    await (await keys.beginDeleteKey("sel-key", { intervalInMs: 25 })).pollUntilDone();
    await keys.purgeDeletedKey("sel-key");
    const fresh = await keys.createRsaKey("sel-key");
    const merged = await backupClient("primary").beginSelectiveKeyRestore("sel-key", folderUri, POLL);
    await merged.pollUntilDone();
    expect((await adminJobStatus("primary", "restore", merged.getOperationState().jobId as string)).statusDetails).toBe(
      "Number of successful key versions restored: 2, Number of key versions could not overwrite: 0",
    );
    const after: string[] = [];
    for await (const v of keys.listPropertiesOfKeyVersions("sel-key")) after.push(v.version as string);
    expect(after.sort()).toEqual([v1.properties.version, v2.properties.version, fresh.properties.version].sort());
    expect((await keys.getKey("sel-key")).properties.version).toBe(fresh.properties.version);
  });

  it("resumes a job from its id (resume token) and from poller.toString()", async () => {
    const client = backupClient("primary");
    const poller = await client.beginBackup(containerUrl(), POLL);
    const jobId = poller.getOperationState().jobId as string;
    const fromId = await client.beginBackup(containerUrl(), { ...POLL, resumeFrom: adminJobResumeToken(client.vaultUrl, "backup", jobId) });
    const fromToken = await client.beginBackup(containerUrl(), { ...POLL, resumeFrom: poller.toString() });
    const [a, b, c] = await Promise.all([poller.pollUntilDone(), fromId.pollUntilDone(), fromToken.pollUntilDone()]);
    expect(b.folderUri).toBe(a.folderUri);
    expect(c.folderUri).toBe(a.folderUri);
    expect(fromId.getOperationState().jobId).toBe(jobId);
  });

  it("pre-backup and pre-restore check without changing anything", async () => {
    const before = await observe("dr");
    const containerBlobs = async (): Promise<number> => {
      let n = 0;
      for await (const _ of azurite.blobServiceClient().getContainerClient(CONTAINER).listBlobsFlat()) n++;
      return n;
    };
    const blobCount = await containerBlobs();
    await (await backupClient("dr").beginPreBackup(containerUrl(), azurite.containerSas(CONTAINER, "crdw"), POLL)).pollUntilDone();
    const badPre = await backupClient("dr").beginPreBackup(containerUrl(), azurite.containerSas(CONTAINER, "rl"), POLL);
    await expectFailed(badPre.pollUntilDone(), /'w' \(write\)/);
    await (await backupClient("dr").beginPreRestore(folderMi, azurite.containerSas(CONTAINER, "rl"), POLL)).pollUntilDone();
    const foreign = await backupClient("other").beginPreRestore(folderMi, POLL);
    await expectFailed(foreign.pollUntilDone(), /different security domain/);
    expect(await containerBlobs()).toBe(blobCount);
    expect(await observe("dr")).toEqual(before);
  });

  it("rejects bad input with 400 and starts nothing", async () => {
    const client = backupClient("primary");
    await expect(client.beginBackup(containerUrl(), "sp=rl&sig=abc", POLL)).rejects.toMatchObject({ statusCode: 400, message: expect.stringMatching(/expiry/) });
    await expect(client.beginRestore(`${containerUrl()}/not-a-backup-folder`, POLL)).rejects.toMatchObject({ statusCode: 400 });
    await expect(client.beginRestore(`${containerUrl()}/`, POLL)).rejects.toThrow(/missing the folder name/);
  });

  it("writes audit records for admin jobs", () => {
    const audit = emu.instances.primary!.instance.audit;
    const backups = audit.list({ operationName: "BackupCreate" });
    expect(backups.some((r) => r.operationVersion === "job" && r.resultSignature === "Succeeded")).toBe(true);
    expect(backups.some((r) => r.operationVersion === "job" && r.resultSignature === "Failed" && /permission/.test(r.resultDescription ?? ""))).toBe(true);
    expect(audit.list({ operationName: "SelectiveKeyRestore" }).some((r) => r.resultSignature === "Succeeded")).toBe(true);
    const dr = emu.instances.dr!.instance.audit;
    expect(dr.list({ operationName: "Restore" }).some((r) => r.resultSignature === "Succeeded")).toBe(true);
    for (const r of [...audit.list(), ...dr.list()]) expect(JSON.stringify(r)).not.toMatch(/sig=|"d":/);
  });
});
