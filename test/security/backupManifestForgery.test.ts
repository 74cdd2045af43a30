/**
 * Forged backup metadata against the emulator (HSMs primary + dr) and Azurite, through the real backup and
 * drill activities and the real Blob SDK. Whoever can write blobs in the backup container (a leaked SAS, a storage
 * role) but does not hold BACKUP_MANIFEST_KEY plants: a `manifests/manifests.json` blob, a newer "verified"
 * manifest with a recomputed (unkeyed) SHA-256, and a manifest whose folderUrl points at their own server. Each
 * must delete nothing, restore nothing, send no SAS anywhere, and leave its reason in the log and the audit container.
 */
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContainerClient } from "@azure/storage-blob";
import { createBackupDeps, type BackupDeps } from "../../shared/backup/backupDeps";
import { computeManifestDigest, manifestBlobName, type BackupManifest } from "../../shared/backup/backupManifest";
import { manifestAuthenticator } from "../../shared/backup/manifestAuthenticator";
import { manifestMac, manifestProblem } from "../../shared/backup/manifestTrust";
import { reportIgnoredManifests } from "../../shared/backup/reportIgnoredManifests";
import { startBackup } from "../../shared/backup/activities/start";
import { getBackupStatus } from "../../shared/backup/activities/status";
import { writeBackupManifest } from "../../shared/backup/activities/manifestWrite";
import { verifyBackup } from "../../shared/backup/activities/verify";
import { applyBackupRetention } from "../../shared/backup/activities/retentionApply";
import { loadSettings } from "../../shared/config/settings";
import { createKeyClients } from "../../shared/hsm/keyClients";
import { blobBackupCandidateSource } from "../../shared/drill/blobBackupCandidateSource";
import { emulatorHsmIdentityReader } from "../../shared/drill/emulatorHsmIdentityReader";
import { drillStorageSas } from "../../shared/drill/drillStorageSas";
import type { DrillDeps } from "../../shared/drill/activities/deps";
import { findLatestVerifiedBackup } from "../../shared/drill/activities/findLatestVerifiedBackup";
import { drillManifestFor } from "../../shared/drill/activities/manifestFor";
import { startRestore } from "../../shared/drill/activities/startRestore";
import { configuredInstancesOf, startTestEmulator, ADMIN_OID, type TestEmulator } from "../support/emulator";
import { startAzurite, type AzuriteBlob } from "../support/azurite";
import { TEST_MANIFEST_KEY } from "../support/manifestKey";

const BACKUPS = "hsm-backups";
const AUDIT = "lifecycle-audit";
const REPORTS = "drill-reports";

let emu: TestEmulator;
let azurite: AzuriteBlob;
let backupDeps: BackupDeps;
let real: { folder: string; manifestText: string };
let attacker: Server;
let attackerUrl: string;
const attackerRequests: string[] = [];
const logs: string[] = [];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const backups = (): ContainerClient => azurite.blobServiceClient().getContainerClient(BACKUPS);
const audit = (): ContainerClient => azurite.blobServiceClient().getContainerClient(AUDIT);

async function names(container: ContainerClient, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const b of container.listBlobsFlat({ prefix })) out.push(b.name);
  return out.sort();
}

async function auditRecords(): Promise<string[]> {
  const out: string[] = [];
  for (const n of [...(await names(audit(), "drills/ignored-manifests/")), ...(await names(audit(), "retention/ignored-manifests/"))]) out.push((await audit().getBlobClient(n).downloadToBuffer()).toString("utf8"));
  return out;
}

/** The attacker's copy of the real manifest, re-pointed and re-digested (the digest is unkeyed, so they can). */
function forgedManifest(folder: string, folderUrl: string, endTime: string): string {
  const m = JSON.parse(real.manifestText) as BackupManifest;
  m.backup = { ...m.backup, folder, folderUrl, containerUrl: folderUrl.slice(0, folderUrl.lastIndexOf("/")), endTime };
  m.blobs = m.blobs.map((b) => ({ ...b, name: `${folder}/${b.name.split("/").slice(1).join("/")}` }));
  m.digest = { ...m.digest, value: computeManifestDigest(m) };
  return JSON.stringify(m, null, 2);
}

/** Plants a manifest blob with "verified" metadata, its MACs copied from the real backup (all the attacker can get). */
async function plant(blobName: string, text: string, meta: { folder: string; completedAt: string }): Promise<void> {
  const realMeta = (await backups().getBlobClient(manifestBlobName(real.folder)).getProperties()).metadata ?? {};
  await backups().getBlockBlobClient(blobName).upload(text, Buffer.byteLength(text), {
    metadata: { ...realMeta, hsmname: "primary", folder: meta.folder, completedat: meta.completedAt, verifiedat: meta.completedAt },
  });
}

function drillDeps(): DrillDeps {
  const settings = loadSettings({
    HSMS: `primary=${emu.url("primary")},dr=${emu.url("dr")}`,
    DRILL_PAIRS: "primary=dr",
    STORAGE_CONNECTION_STRING: azurite.connectionString,
    LIFECYCLE_TOPIC_ENDPOINT: "https://topic.example.net/api/events",
    BACKUP_AUTH: "sas",
    BACKUP_MANIFEST_KEY: TEST_MANIFEST_KEY,
  });
  const log = (line: string): void => void logs.push(line);
  const sas = drillStorageSas(azurite.blobServiceClient(), BACKUPS, 3_600_000);
  return {
    settings,
    credential: emu.credential(ADMIN_OID),
    keyClients: createKeyClients(emu.credential(ADMIN_OID), { ca: emu.ca, retryOptions: { maxRetries: 0 } }),
    adminOptions: { tlsOptions: { ca: emu.ca }, disableChallengeResourceVerification: true, retryOptions: { maxRetries: 0 } },
    identityOf: emulatorHsmIdentityReader(emu.ca),
    backups: blobBackupCandidateSource(backups(), manifestAuthenticator(TEST_MANIFEST_KEY), (ignored) =>
      reportIgnoredManifests(ignored, { workflow: "drill", container: azurite.containerUrl(BACKUPS), now: new Date() }, { auditContainer: audit(), log }),
    ),
    backupContainerUrl: azurite.containerUrl(BACKUPS),
    // BACKUP_AUTH=sas: every SAS the drill issues is counted, and must only ever go to our own container.
    storageSas: async (permissions) => {
      logs.push(`SAS issued (${permissions})`);
      return sas(permissions);
    },
    reports: azurite.blobServiceClient().getContainerClient(REPORTS),
    log,
  };
}

beforeAll(async () => {
  attacker = createServer((req, res) => {
    attackerRequests.push(`${req.method} ${req.url}`);
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => attacker.listen(0, "127.0.0.1", resolve));
  attackerUrl = `http://127.0.0.1:${(attacker.address() as { port: number }).port}/stolen`;
  azurite = await startAzurite();
  for (const c of [BACKUPS, AUDIT, REPORTS]) await azurite.blobServiceClient().createContainer(c);
  emu = await startTestEmulator({ hsms: ["primary", { name: "dr", securityDomain: "primary" }], blobConnectionString: azurite.connectionString, tickIntervalMs: 60_000 });
  backupDeps = createBackupDeps({
    credential: emu.credential(ADMIN_OID),
    hsmClientOptions: { tlsOptions: { ca: emu.ca }, disableChallengeResourceVerification: true, retryOptions: { maxRetries: 0 } },
    blobService: azurite.blobServiceClient(),
    settings: { hsms: configuredInstancesOf(emu), adminJobTimeoutMs: 3_600_000, storage: { backupContainer: BACKUPS, backupAuth: "managedIdentity", manifestKey: TEST_MANIFEST_KEY, auditContainer: AUDIT } },
  });
  backupDeps.log = (line) => void logs.push(line);
  await emu.keyClient("primary").createRsaKey("payments");
  // The one real backup, through the backup workflow's own activities.
  const hsm = { hsmName: "primary" };
  const { jobId } = await startBackup(hsm, backupDeps);
  for (let i = 0; ; i++) {
    const s = await getBackupStatus({ ...hsm, jobId }, backupDeps);
    if (s.status !== "InProgress") {
      expect(s.status).toBe("Succeeded");
      const written = await writeBackupManifest({ ...hsm, jobId, folderUri: s.folderUri!, startTime: s.startTime, endTime: s.endTime! }, backupDeps);
      await verifyBackup({ folder: written.folder }, backupDeps);
      real = { folder: written.folder, manifestText: (await backups().getBlobClient(written.manifestBlob).downloadToBuffer()).toString("utf8") };
      break;
    }
    if (i > 400) throw new Error("the backup did not finish");
    await sleep(25);
  }
}, 120_000);

afterAll(async () => {
  await emu?.close();
  await azurite?.stop();
  await new Promise<void>((resolve) => (attacker ? attacker.close(() => resolve()) : resolve()));
});

describe("forged backup metadata (emulator + Azurite + real SDK)", () => {
  const policy = { daily: 1, weekly: 0, monthly: 0 };

  it("a forged manifests/manifests.json makes retention delete nothing; it is ignored, logged and audited", async () => {
    // Retention deleted `{folder}/…` for every old backup: a "folder" named manifests took every real manifest with it.
    await plant("manifests/manifests.json", "{}", { folder: "manifests", completedAt: "2020-01-01T00:00:00.000Z" });
    const before = await names(backups());
    const out = await applyBackupRetention({ policy, now: new Date().toISOString(), dryRun: false, hsmName: "primary" }, backupDeps);
    expect(out.deleted).toEqual([]);
    expect(await names(backups())).toEqual(before);
    expect(out.ignored).toEqual([{ blob: "manifests/manifests.json", reason: "its name is not manifests/mhsm-<hsm>-<timestamp>.json" }]);
    const line = logs.find((l) => l.includes("manifests/manifests.json ignored"));
    expect(line).toBeDefined();
    console.log(`logged: ${line}`);
    expect((await auditRecords()).some((r) => r.includes('"blob": "manifests/manifests.json"'))).toBe(true);
    await backups().deleteBlob("manifests/manifests.json");
  });

  it("a forged newer 'verified' manifest does not make retention delete the real newest verified backup", async () => {
    const folder = "mhsm-primary-2099010100000000";
    const text = forgedManifest(folder, `${azurite.containerUrl(BACKUPS)}/${folder}`, "2099-01-01T00:00:00.000Z");
    await plant(manifestBlobName(folder), text, { folder, completedAt: new Date(Date.now() + 60_000).toISOString() });
    const realBlobs = await names(backups(), `${real.folder}/`);
    expect(realBlobs.length).toBeGreaterThan(0);
    const out = await applyBackupRetention({ policy, now: new Date(Date.now() + 120_000).toISOString(), dryRun: false, hsmName: "primary" }, backupDeps);
    expect(out.deleted).toEqual([]);
    expect(await names(backups(), `${real.folder}/`)).toEqual(realBlobs);
    expect((await backups().getBlobClient(manifestBlobName(real.folder)).downloadToBuffer()).toString("utf8")).toBe(real.manifestText);
    expect(out.ignored).toEqual([{ blob: manifestBlobName(folder), reason: expect.stringMatching(/metadata MAC does not match/) }]);
    // The drill, too, takes the real backup as the newest verified one, and will not read the forged one.
    const deps = drillDeps();
    const found = await findLatestVerifiedBackup({ primary: "primary", drillStart: new Date(Date.now() + 120_000).toISOString() }, deps);
    expect(found).toMatchObject({ kind: "found", folder: real.folder });
    await expect(drillManifestFor(deps, "primary", folder)).rejects.toThrow(/NoVerifiedBackup/);
    expect(logs.some((l) => l.startsWith("drill: manifest") && l.includes(folder) && l.includes("MAC does not match"))).toBe(true);
    await backups().deleteBlob(manifestBlobName(folder));
  });

  it("a forged manifest whose folderUrl points outside BACKUP_CONTAINER is refused and no SAS goes anywhere (BACKUP_AUTH=sas)", async () => {
    const folder = "mhsm-primary-2099020100000000";
    const evilFolderUrl = `${attackerUrl}/${folder}`;
    await plant(manifestBlobName(folder), forgedManifest(folder, evilFolderUrl, "2099-02-01T00:00:00.000Z"), { folder, completedAt: new Date(Date.now() + 60_000).toISOString() });
    const deps = drillDeps();
    const sasBefore = logs.filter((l) => l.startsWith("SAS issued")).length;
    const found = await findLatestVerifiedBackup({ primary: "primary", drillStart: new Date(Date.now() + 120_000).toISOString() }, deps);
    expect(found).toMatchObject({ kind: "found", folder: real.folder, folderUrl: `${azurite.containerUrl(BACKUPS)}/${real.folder}` });
    await expect(drillManifestFor(deps, "primary", folder)).rejects.toThrow(/NoVerifiedBackup/);
    // Even handed the foreign URL directly (a forged orchestration input), the restore refuses before any SAS is made.
    const refused = startRestore({ primary: "primary", target: "dr", folderUrl: evilFolderUrl }, deps);
    await expect(refused).rejects.toThrow(/is not a mhsm-<hsm>-<timestamp> folder inside BACKUP_CONTAINER/);
    console.log(`refused: ${await refused.catch((e: Error) => e.message)}`);
    expect(logs.filter((l) => l.startsWith("SAS issued")).length).toBe(sasBefore);
    expect(attackerRequests).toEqual([]);
    const line = logs.find((l) => l.startsWith("drill: manifest") && l.includes(folder));
    expect(line).toBeDefined();
    console.log(`logged: ${line}`);
    expect((await auditRecords()).some((r) => r.includes(manifestBlobName(folder)))).toBe(true);
  });

  it("even a manifest with a valid MAC (a bug, or a stolen key) must name a folder of its own HSM inside BACKUP_CONTAINER", () => {
    const auth = manifestAuthenticator(TEST_MANIFEST_KEY);
    const sealed = (text: string): BackupManifest => {
      const m = JSON.parse(text) as BackupManifest;
      m.digest.mac = manifestMac(auth, m.digest.value);
      return m;
    };
    const container = azurite.containerUrl(BACKUPS);
    expect(manifestProblem(sealed(real.manifestText), auth, container)).toBeUndefined();
    expect(manifestProblem(sealed(forgedManifest("mhsm-primary-2099030100000000", `${attackerUrl}/mhsm-primary-2099030100000000`, "2099-03-01T00:00:00.000Z")), auth, container)).toMatch(/outside BACKUP_CONTAINER/);
    expect(manifestProblem(sealed(forgedManifest("mhsm-other-2099030100000000", `${container}/mhsm-other-2099030100000000`, "2099-03-01T00:00:00.000Z")), auth, container)).toMatch(/is not mhsm-<hsm>-<timestamp> of HSM "primary"/);
    expect(manifestProblem(JSON.parse(real.manifestText) as BackupManifest, manifestAuthenticator(Buffer.alloc(32, 9).toString("base64")), container)).toMatch(/MAC does not match/);
  });
});
