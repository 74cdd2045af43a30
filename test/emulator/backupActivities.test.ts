/**
 * The backup activities end to end: real KeyClient / admin clients over HTTPS against the emulator, the
 * HSM writing its backup into the real Azurite, manifests and markers in Azurite. The automation runs as a
 * least-privilege principal: the custom role HSM Lifecycle Backup at "/" (as `rbac plan` assigns it), nothing else.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BlobServiceClient, ContainerClient } from "@azure/storage-blob";
import { configuredInstancesOf, startTestEmulator, ADMIN_OID, type TestEmulator } from "../support/emulator";
import { startAzurite, type AzuriteBlob } from "../support/azurite";
import { KeyVaultAccessControlClient } from "../../shared/hsm/keyVaultAccessControlClient";
import { KnownManagedHsmRoleDefinitionIds } from "../../shared/hsm/keyVaultAccessControlClientModels";
import { HSM_BACKUP_ROLE, roleDefinitionIdOf } from "../../shared/rbac/lifecycleRoles";
import { permissionsOf } from "../../shared/rbac/rbacDiff";
import { createBackupDeps, type BackupDeps } from "../../shared/backup/backupDeps";
import { TEST_MANIFEST_KEY } from "../support/manifestKey";
import { manifestAuthenticator } from "../../shared/backup/manifestAuthenticator";
import { recordMac, verifiedMac } from "../../shared/backup/manifestTrust";
import { manifestBlobName, parseBackupManifest } from "../../shared/backup/backupManifest";
import { LifecycleError } from "../../shared/errors";
import { preBackupCheck } from "../../shared/backup/activities/preCheck";
import { startBackup } from "../../shared/backup/activities/start";
import { getBackupStatus, type GetBackupStatusOutput } from "../../shared/backup/activities/status";
import { writeBackupManifest } from "../../shared/backup/activities/manifestWrite";
import { verifyBackup } from "../../shared/backup/activities/verify";
import { listBackups } from "../../shared/backup/activities/list";
import { applyBackupRetention } from "../../shared/backup/activities/retentionApply";
import { copyBackup } from "../../shared/backup/activities/copy";
import { backupContainerSas } from "../../shared/storage/backupContainerSas";

const AUTOMATION = "0c0c0c0c-0000-4000-8000-00000000a070";
const AUDITOR_ONLY = "0d0d0d0d-0000-4000-8000-00000000a0d1";
const BACKUP_ONLY = "0e0e0e0e-0000-4000-8000-00000000a0b1";
const CONTAINER = "hsm-backups";
const COPY_CONTAINER = "hsm-backups-copy";

let emu: TestEmulator;
let azurite: AzuriteBlob;
let hsmUrl: string;

const depsFor = (oid: string, o: { container?: string; backupAuth?: "managedIdentity" | "sas"; blobService?: BlobServiceClient; copyUrl?: string } = {}): BackupDeps =>
  createBackupDeps({
    credential: emu.credential(oid),
    hsmClientOptions: { tlsOptions: { ca: emu.ca }, disableChallengeResourceVerification: true, retryOptions: { maxRetries: 0 } },
    blobService: o.blobService ?? azurite.blobServiceClient(),
    settings: { hsms: configuredInstancesOf(emu), adminJobTimeoutMs: 2 * 3_600_000, storage: { backupContainer: o.container ?? CONTAINER, backupAuth: o.backupAuth ?? "managedIdentity", manifestKey: TEST_MANIFEST_KEY, ...(o.copyUrl ? { backupCopyContainerUrl: o.copyUrl } : {}) } },
  });
const hsm = () => ({ hsmName: "primary" });
const container = (): ContainerClient => azurite.blobServiceClient().getContainerClient(CONTAINER);

/** What the orchestration does with durable timers; here a short real wait between single polls. */
async function pollToEnd(deps: BackupDeps, jobId: string): Promise<{ final: GetBackupStatusOutput; polls: number }> {
  for (let polls = 1; polls <= 400; polls++) {
    const status = await getBackupStatus({ ...hsm(), jobId }, deps);
    if (status.status !== "InProgress") return { final: status, polls };
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`job ${jobId} did not finish`);
}

async function failureOf(promise: Promise<unknown>): Promise<LifecycleError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, "the call should have failed").toBeInstanceOf(LifecycleError);
  return error as LifecycleError;
}

async function blobNames(prefix: string): Promise<string[]> {
  const names: string[] = [];
  for await (const b of container().listBlobsFlat({ prefix })) names.push(b.name);
  return names.sort();
}

/** A full backup through the activities: start → poll → manifest → verify. */
async function fullBackup(deps: BackupDeps): Promise<{ folder: string; folderUri: string; jobId: string }> {
  const { jobId } = await startBackup(hsm(), deps);
  const { final } = await pollToEnd(deps, jobId);
  expect(final.status).toBe("Succeeded");
  const written = await writeBackupManifest({ ...hsm(), jobId, folderUri: final.folderUri!, startTime: final.startTime, endTime: final.endTime! }, deps);
  await verifyBackup({ folder: written.folder }, deps);
  return { folder: written.folder, folderUri: final.folderUri!, jobId };
}

beforeAll(async () => {
  azurite = await startAzurite();
  await azurite.blobServiceClient().createContainer(CONTAINER);
  await azurite.blobServiceClient().createContainer(COPY_CONTAINER);
  emu = await startTestEmulator({ hsms: ["primary"], blobConnectionString: azurite.connectionString, tickIntervalMs: 60_000 });
  hsmUrl = emu.url("primary");
  const rbac = new KeyVaultAccessControlClient(hsmUrl, emu.credential(ADMIN_OID), emu.clientOptions());
  await rbac.setRoleDefinition("/", { roleDefinitionName: HSM_BACKUP_ROLE.name, roleName: HSM_BACKUP_ROLE.roleName, permissions: permissionsOf(HSM_BACKUP_ROLE) });
  await rbac.createRoleAssignment("/", randomUUID(), roleDefinitionIdOf(HSM_BACKUP_ROLE), AUTOMATION);
  await rbac.createRoleAssignment("/", randomUUID(), KnownManagedHsmRoleDefinitionIds.CryptoAuditor, AUDITOR_ONLY);
  await rbac.createRoleAssignment("/", randomUUID(), KnownManagedHsmRoleDefinitionIds.Backup, BACKUP_ONLY);
  const keys = emu.keyClient("primary");
  await keys.createRsaKey("signer", { tags: { owner: "payments" } });
  await keys.rotateKey("signer").catch(async () => keys.createRsaKey("signer"));
  await keys.createEcKey("ec-key", { curve: "P-256", expiresOn: new Date("2027-06-01T00:00:00Z") });
  await keys.updateKeyProperties("ec-key", { enabled: false });
});

afterAll(async () => {
  azurite?.resume();
  await emu?.close();
  await azurite?.stop();
});

describe("backup activities against the emulator and Azurite (least-privilege principal)", () => {
  let good: { folder: string; folderUri: string; jobId: string };

  it("pre-checks, starts a backup, polls it once per call to Succeeded, writes the manifest and verifies it", async () => {
    const deps = depsFor(AUTOMATION);
    const pre = await preBackupCheck(hsm(), deps);
    const preEnd = await pollToEnd(deps, pre.jobId);
    expect(preEnd.final.status).toBe("Succeeded");
    expect(preEnd.final.folderUri).toBeUndefined();

    const started = await startBackup(hsm(), deps);
    expect(started).toEqual({ jobId: expect.stringMatching(/^[0-9a-f]{32}$/), adopted: false, containerUrl: azurite.containerUrl(CONTAINER) });
    const { final } = await pollToEnd(deps, started.jobId);
    expect(final).toMatchObject({ status: "Succeeded", folderUri: expect.stringMatching(new RegExp(`^${azurite.containerUrl(CONTAINER)}/mhsm-primary-\\d{16}$`)) });
    expect(Date.parse(final.endTime!)).toBeGreaterThanOrEqual(Date.parse(final.startTime));

    const written = await writeBackupManifest({ ...hsm(), jobId: started.jobId, folderUri: final.folderUri!, startTime: final.startTime, endTime: final.endTime! }, deps);
    expect(written.manifestBlob).toBe(manifestBlobName(written.folder));
    const folderBlobs = await blobNames(`${written.folder}/`);
    expect(written.blobCount).toBe(folderBlobs.length);
    expect(folderBlobs).toContain(`${written.folder}/keys/signer`);

    const text = (await container().getBlobClient(written.manifestBlob).downloadToBuffer()).toString("utf8");
    const manifest = parseBackupManifest(text, written.manifestBlob);
    expect(manifest.digest.value).toBe(written.manifestDigest);
    expect(manifest.hsm).toEqual({ name: "primary", url: hsmUrl });
    expect(manifest.backup).toMatchObject({ folder: written.folder, jobId: started.jobId, startTime: final.startTime, endTime: final.endTime });
    expect(manifest.blobs.map((b) => b.name)).toEqual(folderBlobs);
    for (const b of manifest.blobs) expect(b.sha256).toMatch(/^[0-9a-f]{64}$/);
    const signer = manifest.keys.find((k) => k.name === "signer");
    expect(signer).toMatchObject({ kty: "RSA-HSM", versions: [expect.objectContaining({ enabled: true, tags: { owner: "payments" } }), expect.anything()] });
    expect(signer?.rotationPolicy).toEqual(expect.anything()); // recorded at backup time for the drill
    expect(manifest.schemaVersion).toBe(2);
    expect(manifest.keysDuringBackup).toEqual([]);
    // The backup identity's role (roleAssignments/read) lets it record the role assignments a full restore puts back.
    expect(manifest.roleAssignments).toContainEqual({ scope: "/", roleDefinitionId: expect.any(String), principalId: AUTOMATION });
    const ec = manifest.keys.find((k) => k.name === "ec-key");
    expect(ec).toMatchObject({ kty: "EC-HSM", versions: [{ enabled: false, expiresOn: "2027-06-01T00:00:00.000Z" }] });
    // List pages and the kty lookups carry no private material, and the manifest holds no public key either.
    expect(text).not.toMatch(/"(d|p|q|dp|dq|qi|k|n|x|y)"\s*:/);

    expect((await listBackups({ hsmName: "primary" }, deps)).map((b) => [b.folder, b.verified])).toEqual([[written.folder, false]]);
    const verified = await verifyBackup({ folder: written.folder }, deps);
    expect(verified).toMatchObject({ folder: written.folder, blobCount: folderBlobs.length, manifestDigest: written.manifestDigest });
    const listed = await listBackups({}, deps);
    expect(listed).toEqual([expect.objectContaining({ folder: written.folder, hsmName: "primary", verified: true, pinned: false, jobId: started.jobId, completedAt: final.endTime })]);
    good = { folder: written.folder, folderUri: final.folderUri!, jobId: started.jobId };
  });

  it("backs up with a short-lived crdw SAS when configured, and never returns or stores the SAS", async () => {
    const deps = depsFor(AUTOMATION, { backupAuth: "sas" });
    const started = await startBackup(hsm(), deps);
    const polled = await pollToEnd(deps, started.jobId);
    expect(polled.final.status).toBe("Succeeded");
    const written = await writeBackupManifest({ ...hsm(), jobId: started.jobId, folderUri: polled.final.folderUri!, startTime: polled.final.startTime, endTime: polled.final.endTime! }, deps);
    const manifestText = (await container().getBlobClient(written.manifestBlob).downloadToBuffer()).toString("utf8");
    for (const value of [started, polled.final, written, manifestText]) expect(JSON.stringify(value)).not.toMatch(/sig=|se=|sp=/);
    const audit = await emu.control("primary", "GET", "/_emulator/audit");
    expect(audit.text).not.toMatch(/sig=(?!REDACTED)/);
  });

  it("issues the backup SAS with exactly crdw, a short expiry, and it cannot list or touch other containers", async () => {
    const now = new Date();
    const sas = await backupContainerSas(azurite.blobServiceClient(), CONTAINER, { now, validForMs: 30 * 60_000 });
    const params = new URLSearchParams(sas);
    expect([...(params.get("sp") ?? "")].sort().join("")).toBe("cdrw"); // create, delete, read, write; no list
    expect(params.get("sr")).toBe("c");
    expect(Date.parse(params.get("se")!) - Date.parse(params.get("st")!)).toBe(35 * 60_000);
    const viaSas = new ContainerClient(`${azurite.containerUrl(CONTAINER)}?${sas}`);
    await viaSas.getBlockBlobClient("sas-probe").upload("x", 1);
    expect((await viaSas.getBlobClient("sas-probe").downloadToBuffer()).toString()).toBe("x");
    await viaSas.deleteBlob("sas-probe");
    await expect(viaSas.listBlobsFlat().next()).rejects.toMatchObject({ statusCode: 403 });
    const other = new ContainerClient(`${azurite.containerUrl(COPY_CONTAINER)}?${sas}`);
    await expect(other.getBlockBlobClient("sas-probe").upload("x", 1)).rejects.toMatchObject({ statusCode: 403 });
  });

  it("fails verification of a tampered blob and of a missing blob, naming each, and removes the verified mark", async () => {
    const deps = depsFor(AUTOMATION);
    const victim = await fullBackup(deps);
    expect((await listBackups({}, deps)).find((b) => b.folder === victim.folder)?.verified).toBe(true);

    const blob = container().getBlockBlobClient(`${victim.folder}/keys/signer`);
    const original = await blob.downloadToBuffer();
    const changed = Buffer.from(original);
    changed[changed.length >> 1] = (changed[changed.length >> 1] ?? 0) ^ 0x01;
    await blob.upload(changed, changed.length);
    const tampered = await failureOf(verifyBackup({ folder: victim.folder }, deps));
    expect(tampered.code).toBe("BackupIntegrityFailed");
    expect(tampered.message).toContain(`blob '${victim.folder}/keys/signer' does not match its SHA-256 in the manifest`);
    expect((await listBackups({}, deps)).find((b) => b.folder === victim.folder)?.verified).toBe(false);

    await blob.upload(original, original.length);
    await verifyBackup({ folder: victim.folder }, deps);
    await container().deleteBlob(`${victim.folder}/rbac`);
    const missing = await failureOf(verifyBackup({ folder: victim.folder }, deps));
    expect(missing.message).toMatch(new RegExp(`blob '${victim.folder}/rbac' is missing`));
    expect((await listBackups({}, deps)).find((b) => b.folder === victim.folder)).toMatchObject({ verified: false });

    // A changed manifest is caught by its own digest.
    const manifestBlob = container().getBlockBlobClient(manifestBlobName(good.folder));
    const props = await manifestBlob.getProperties();
    const text = (await manifestBlob.downloadToBuffer()).toString("utf8").replace('"owner": "payments"', '"owner": "someone"');
    await manifestBlob.upload(text, Buffer.byteLength(text), { metadata: props.metadata });
    const forged = await failureOf(verifyBackup({ folder: good.folder }, deps));
    expect(forged.message).toMatch(/was modified after it was written/);
    expect((await listBackups({}, deps)).find((b) => b.folder === good.folder)?.verified).toBe(false);

    const none = await failureOf(verifyBackup({ folder: "mhsm-primary-0000000000000000" }, deps));
    expect(none.message).toMatch(/has no manifest/);
  });

  it("adopts the backup job already running when the HSM answers 409", async () => {
    const deps = depsFor(AUTOMATION);
    azurite.pause(); // holds the first job mid-flight
    let first: { jobId: string };
    let second: { jobId: string; adopted: boolean };
    try {
      first = await startBackup(hsm(), deps);
      second = await startBackup(hsm(), deps);
      expect((await getBackupStatus({ ...hsm(), jobId: first.jobId }, deps)).status).toBe("InProgress");
    } finally {
      azurite.resume();
    }
    expect(second).toMatchObject({ jobId: first.jobId, adopted: true });
    const { final } = await pollToEnd(deps, second.jobId);
    expect(final.status).toBe("Succeeded");
  });

  it("refuses a principal without the HSM Lifecycle Backup role, naming the role and the scope", async () => {
    const deps = depsFor(AUDITOR_ONLY);
    const error = await failureOf(startBackup(hsm(), deps));
    expect(error.code).toBe("MissingRole");
    expect(error.message).toMatch(/lacks the "HSM Lifecycle Backup" role\. Fix: assign "HSM Lifecycle Backup" to the function app's identity on scope \//);
    expect((await failureOf(preBackupCheck(hsm(), deps))).code).toBe("MissingRole");
    const status = await failureOf(getBackupStatus({ ...hsm(), jobId: good.jobId }, deps));
    expect(status.message).toContain('"HSM Lifecycle Backup"');

    // Backup alone cannot read the key inventory: the manifest names the read role it needs.
    const backupOnly = depsFor(BACKUP_ONLY);
    const { jobId } = await startBackup(hsm(), backupOnly);
    const { final } = await pollToEnd(backupOnly, jobId);
    const inventory = await failureOf(writeBackupManifest({ ...hsm(), jobId, folderUri: final.folderUri!, startTime: final.startTime, endTime: final.endTime! }, backupOnly));
    expect(inventory.code).toBe("MissingRole");
    expect(inventory.message).toMatch(/"HSM Lifecycle Backup".*scope \//);
  });

  it("names a missing container (job failure, listing, manifest write) and unreachable storage", async () => {
    const deps = depsFor(AUTOMATION, { container: "no-such-container" });
    const started = await startBackup(hsm(), deps);
    const { final } = await pollToEnd(deps, started.jobId);
    expect(final.status).toBe("Failed");
    expect(final.error).toMatchObject({ code: "ContainerNotFound", message: expect.stringMatching(/^\[ContainerNotFound\] .*no-such-container.*Fix: create the container/) });
    const listing = await failureOf(listBackups({}, deps));
    expect(listing.code).toBe("ContainerNotFound");
    const manifest = await failureOf(
      writeBackupManifest({ ...hsm(), jobId: started.jobId, folderUri: `${azurite.containerUrl("no-such-container")}/mhsm-primary-2026112302000000`, startTime: final.startTime, endTime: final.startTime }, deps),
    );
    expect(manifest.code).toBe("ContainerNotFound");
    expect(manifest.message).toMatch(/the blob container does not exist.*Fix: create it/);

    const unreachable = depsFor(AUTOMATION, { blobService: new BlobServiceClient("http://127.0.0.1:9/devstoreaccount1", undefined, { retryOptions: { maxTries: 1 } }) });
    const down = await failureOf(listBackups({}, unreachable));
    expect(down.code).toBe("StorageUnreachable");
    expect(down.message).toMatch(/storage did not answer.*Fix: check STORAGE_ACCOUNT_URL/);
  });

  it("copies a verified backup server-side into the copy container, checks digests, never overwrites", async () => {
    const deps = depsFor(AUTOMATION, { copyUrl: azurite.containerUrl(COPY_CONTAINER) });
    const copyContainer = azurite.blobServiceClient().getContainerClient(COPY_CONTAINER);
    const source = await fullBackup(deps);
    const sourceBlobs = await blobNames(`${source.folder}/`);

    const first = await copyBackup({ folder: source.folder }, deps);
    expect(first).toEqual({ folder: source.folder, destinationUrl: azurite.containerUrl(COPY_CONTAINER), copied: sourceBlobs.length, alreadyPresent: 0, immutability: { visible: false } });
    const copied: string[] = [];
    for await (const b of copyContainer.listBlobsFlat()) copied.push(b.name);
    expect(copied.sort()).toEqual([...sourceBlobs, manifestBlobName(source.folder)].sort());
    for (const name of sourceBlobs) {
      expect((await copyContainer.getBlobClient(name).downloadToBuffer()).equals(await container().getBlobClient(name).downloadToBuffer())).toBe(true);
    }
    expect(await copyBackup({ folder: source.folder }, deps)).toMatchObject({ copied: 0, alreadyPresent: sourceBlobs.length });

    // A damaged copy is found, named, and not "repaired" by overwriting.
    await copyContainer.getBlockBlobClient(`${source.folder}/rbac`).upload("garbage", 7);
    const damaged = await failureOf(copyBackup({ folder: source.folder }, deps));
    expect(damaged.code).toBe("BackupIntegrityFailed");
    expect(damaged.message).toContain(`blob '${source.folder}/rbac' has 7 bytes`);

    // Only verified backups are copied; and without the setting the activity says which one to set.
    const unverified = await startBackup(hsm(), deps);
    const { final } = await pollToEnd(deps, unverified.jobId);
    const written = await writeBackupManifest({ ...hsm(), jobId: unverified.jobId, folderUri: final.folderUri!, startTime: final.startTime, endTime: final.endTime! }, deps);
    expect((await failureOf(copyBackup({ folder: written.folder }, deps))).code).toBe("VerificationFailed");
    expect((await failureOf(copyBackup({ folder: written.folder }, depsFor(AUTOMATION)))).message).toMatch(/BACKUP_COPY_CONTAINER_URL is not set/);
  });

  it("rejects bad input before any call", async () => {
    const deps = depsFor(AUTOMATION);
    expect((await failureOf(startBackup({ hsmName: "primary", hsmUrl: "http://evil" } as never, deps))).code).toBe("BadParameter");
    expect((await failureOf(startBackup({ hsmName: "elsewhere" }, deps))).message).toMatch(/Configured: primary \(managedHsm\)/);
    expect((await failureOf(getBackupStatus({ ...hsm(), jobId: "../../keys" }, deps))).code).toBe("BadParameter");
    expect((await failureOf(verifyBackup({ folder: "../x" }, deps))).code).toBe("BadParameter");
    expect((await failureOf(applyBackupRetention({ policy: { daily: 1, weekly: 0, monthly: 0 }, now: "2026-11-23T00:00:00Z" } as never, deps))).message).toMatch(/dryRun/);
  });
});

describe("retention applied to backups in Azurite", () => {
  const DAY = 86_400_000;
  const t0 = Date.parse("2026-01-05T02:00:00.000Z");
  const folderOf = (d: number): string => `mhsm-retained-2026010500000${String(d).padStart(3, "0")}`;
  const auth = manifestAuthenticator(TEST_MANIFEST_KEY);

  async function seed(d: number, o: { verified?: boolean; pinned?: boolean } = {}): Promise<void> {
    const c = container();
    for (const part of ["keys/a", "rbac"]) await c.getBlockBlobClient(`${folderOf(d)}/${part}`).upload("x", 1);
    const completedAt = new Date(t0 + d * DAY).toISOString();
    // MACed as the manifest writer and verifyBackup would (retention trusts nothing else).
    const metadata: Record<string, string> = { hsmname: "retained", folder: folderOf(d), completedat: completedAt, recordmac: recordMac(auth, { hsmName: "retained", folder: folderOf(d), jobId: "", completedAt }) };
    if (o.verified !== false) {
      metadata["verifiedat"] = new Date(t0 + d * DAY + 60_000).toISOString();
      metadata["verifiedmac"] = verifiedMac(auth, folderOf(d), metadata["verifiedat"]);
    }
    if (o.pinned) metadata["pinned"] = "true";
    await c.getBlockBlobClient(manifestBlobName(folderOf(d))).upload("{}", 2, { metadata });
  }

  it("dry run deletes nothing; the real run deletes exactly the planned folders and manifests", async () => {
    const deps = depsFor(AUTOMATION);
    // Days 0..20 nightly; day 1 pinned; day 20 unverified (newer than the newest verified, day 19).
    for (let d = 0; d <= 20; d++) await seed(d, { pinned: d === 1, verified: d !== 20 });
    const before = await blobNames("");
    const policy = { daily: 3, weekly: 2, monthly: 0 };
    const now = new Date(t0 + 21 * DAY).toISOString();

    const dry = await applyBackupRetention({ policy, now, dryRun: true, hsmName: "retained" }, deps);
    expect(dry.deleted).toEqual([]);
    expect(await blobNames("")).toEqual(before);
    // 2026-01-05 is a Monday: ISO weeks are days 0-6, 7-13, 14-20. Newest verified per week: 19 and 13.
    const kept = [20, 19, 18, 17, 13, 1].map(folderOf);
    expect(dry.plan.keep.map((k) => k.folder).sort()).toEqual([...kept].sort());
    expect(dry.plan.keep.find((k) => k.folder === folderOf(1))?.reasons).toEqual(["pinned"]);
    expect(dry.plan.keep.find((k) => k.folder === folderOf(19))?.reasons).toEqual(expect.arrayContaining(["newest verified backup", expect.stringMatching(/^daily/), expect.stringMatching(/^weekly/)]));
    expect(dry.plan.keep.find((k) => k.folder === folderOf(20))?.reasons).toEqual(["no newer verified backup exists"]);
    const expectedDeleted = Array.from({ length: 21 }, (_, d) => d).filter((d) => !kept.includes(folderOf(d))).map(folderOf);
    expect(dry.plan.delete.map((d) => d.folder).sort()).toEqual(expectedDeleted.sort());

    const real = await applyBackupRetention({ policy, now, dryRun: false, hsmName: "retained" }, deps);
    expect(real.deleted.sort()).toEqual(expectedDeleted.sort());
    const after = await blobNames("");
    for (const f of expectedDeleted) expect(after.filter((n) => n.startsWith(`${f}/`) || n === manifestBlobName(f))).toEqual([]);
    for (const f of kept) expect(after).toEqual(expect.arrayContaining([`${f}/keys/a`, `${f}/rbac`, manifestBlobName(f)]));
    // Other HSMs' backups (the primary's real ones) were not touched.
    expect(after.filter((n) => n.startsWith("mhsm-primary-")).length).toBe(before.filter((n) => n.startsWith("mhsm-primary-")).length);

    const again = await applyBackupRetention({ policy, now, dryRun: false, hsmName: "retained" }, deps);
    expect(again.deleted).toEqual([]);
  });
});
