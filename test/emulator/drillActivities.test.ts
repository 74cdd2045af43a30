/**
 * The restore-drill activities in the order the drill orchestration runs them, against the real emulator
 * (primary + dr sharing a security domain, drforeign with its own) over HTTPS and the real Azurite:
 * a verified full backup of primary (the backup workflow's own activities), then interlocks, DR self-backup,
 * pre-restore check, restore, inventory, cross-HSM probes, role assignments and the report blob.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContainerClient } from "@azure/storage-blob";
import { loadSettings, type Settings } from "../../shared/config/settings";
import { createBackupDeps, type BackupDeps } from "../../shared/backup/backupDeps";
import { manifestAuthenticator } from "../../shared/backup/manifestAuthenticator";
import { TEST_MANIFEST_KEY } from "../support/manifestKey";
import { startBackup } from "../../shared/backup/activities/start";
import { getBackupStatus } from "../../shared/backup/activities/status";
import { writeBackupManifest } from "../../shared/backup/activities/manifestWrite";
import { verifyBackup } from "../../shared/backup/activities/verify";
import { createKeyClients } from "../../shared/hsm/keyClients";
import { KeyVaultAccessControlClient } from "../../shared/hsm/keyVaultAccessControlClient";
import { KnownManagedHsmRoleDefinitionIds } from "../../shared/hsm/keyVaultAccessControlClientModels";
import { LifecycleError } from "../../shared/errors/lifecycleError";
import { blobBackupCandidateSource } from "../../shared/drill/blobBackupCandidateSource";
import { applyBackupRetention } from "../../shared/backup/activities/retentionApply";
import { manifestBlobName } from "../../shared/backup/backupManifest";
import { emulatorHsmIdentityReader } from "../../shared/drill/emulatorHsmIdentityReader";
import { blobSingleKeyGetLedger } from "../../shared/drill/blobSingleKeyGetLedger";
import { drillStorageSas, type DrillSasPermissions } from "../../shared/drill/drillStorageSas";
import type { DrillReport } from "../../shared/drill/drillReport";
import { drillEventFor } from "../../shared/drill/drillEventFor";
import type { DrillDeps } from "../../shared/drill/activities/deps";
import { checkDrillSafety, type CheckDrillSafetyOutput, type DrillRefusedOutcome } from "../../shared/drill/activities/checkSafety";
import { findLatestVerifiedBackup, type FindLatestVerifiedBackupInput, type FoundVerifiedBackup } from "../../shared/drill/activities/findLatestVerifiedBackup";
import { startDrillTargetBackup } from "../../shared/drill/activities/startTargetBackup";
import { getDrillTargetBackupStatus } from "../../shared/drill/activities/getTargetBackupStatus";
import { preRestoreCheck } from "../../shared/drill/activities/preRestoreCheck";
import { startRestore } from "../../shared/drill/activities/startRestore";
import { getRestoreStatus, type RestoreStatus } from "../../shared/drill/activities/getRestoreStatus";
import { startSelectiveRestore } from "../../shared/drill/activities/startSelectiveRestore";
import { verifyRestoredInventory } from "../../shared/drill/activities/verifyRestoredInventory";
import { runCryptoProbes } from "../../shared/drill/activities/runCryptoProbes";
import { verifyRoleAssignments } from "../../shared/drill/activities/verifyRoleAssignments";
import { writeDrillReport } from "../../shared/drill/activities/writeReport";
import { configuredInstancesOf, startTestEmulator, ADMIN_OID, type TestEmulator } from "../support/emulator";
import { startAzurite, type AzuriteBlob } from "../support/azurite";

const BACKUPS = "hsm-backups";
const REPORTS = "drill-reports";
const OTHER_PRINCIPAL = "0b0b0b0b-0000-4000-8000-0000000000b2";
/** Audit operations that change an HSM (a pre-restore check and status reads do not). */
const WRITE_OPERATIONS = /^(KeyCreate|KeyImport|KeyUpdate|KeyDelete|KeyPurge|KeyRotate|KeyRestore|KeyRecover|KeyRotationPolicySet|BackupCreate|Restore|SelectiveKeyRestore|RoleAssignment(Create|Delete)|RoleDefinition(Create|Delete))$/;

let emu: TestEmulator;
let azurite: AzuriteBlob;
let backupDeps: BackupDeps;

const settingsFor = (hsms: Record<string, string>, pairs: string): Settings =>
  loadSettings({
    HSMS: Object.entries(hsms).map(([n, u]) => `${n}=${u}`).join(","),
    DRILL_PAIRS: pairs,
    STORAGE_CONNECTION_STRING: azurite.connectionString,
    LIFECYCLE_TOPIC_ENDPOINT: "https://topic.example.net/api/events",
    RTO_TARGET: "PT1H",
    RPO_TARGET: "P1D",
    BACKUP_MANIFEST_KEY: TEST_MANIFEST_KEY,
  });

function drillDeps(settings: Pick<Settings, "hsms" | "drillPairs" | "objectives">): DrillDeps {
  const options = { tlsOptions: { ca: emu.ca }, disableChallengeResourceVerification: true, retryOptions: { maxRetries: 0 } };
  return {
    settings,
    credential: emu.credential(ADMIN_OID),
    keyClients: createKeyClients(emu.credential(ADMIN_OID), { ca: emu.ca, emulatorMode: true, retryOptions: { maxRetries: 0 } }),
    adminOptions: options,
    identityOf: emulatorHsmIdentityReader(emu.ca),
    backups: blobBackupCandidateSource(azurite.blobServiceClient().getContainerClient(BACKUPS), manifestAuthenticator(TEST_MANIFEST_KEY), undefined, reportsContainer()),
    backupContainerUrl: azurite.containerUrl(BACKUPS),
    reports: reportsContainer(),
  };
}
const reportsContainer = (): ContainerClient => azurite.blobServiceClient().getContainerClient(REPORTS);
const pair = { primary: "primary", target: "dr" };

/** A verified full backup of primary through the backup workflow's own activities. */
async function verifiedBackupOfPrimary(duringJob?: () => Promise<void>): Promise<{ folder: string; jobId: string }> {
  const hsm = { hsmName: "primary" };
  // The service's times are whole seconds: a key or policy written in the job's start second counts as changed
  // during the backup (and is not compared by a drill). Starting in a later second than the setup's last write
  // keeps the setup out of that second, whatever the machine's speed.
  await sleep(1000 - (Date.now() % 1000) + 5);
  const { jobId } = await startBackup(hsm, backupDeps);
  await duringJob?.();
  for (let i = 0; i < 400; i++) {
    const s = await getBackupStatus({ ...hsm, jobId }, backupDeps);
    if (s.status !== "InProgress") {
      expect(s.status).toBe("Succeeded");
      const written = await writeBackupManifest({ ...hsm, jobId, folderUri: s.folderUri!, startTime: s.startTime, endTime: s.endTime! }, backupDeps);
      await verifyBackup({ folder: written.folder }, backupDeps);
      return { folder: written.folder, jobId };
    }
    await sleep(25);
  }
  throw new Error("primary backup did not finish");
}

/** The orchestration's loop (durable timers there, a short real wait here) over a poll-once activity. */
async function untilDone<T extends { status: string }>(poll: () => Promise<T>): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const s = await poll();
    if (s.status !== "InProgress") return s;
    await sleep(25);
  }
  throw new Error("admin job did not finish");
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Names, versions, enabled and tags of every key on an HSM (list operations), for before/after comparisons. */
async function inventoryOf(hsm: string): Promise<unknown> {
  const client = emu.keyClient(hsm);
  const out: Record<string, unknown> = {};
  for await (const k of client.listPropertiesOfKeys()) {
    const versions: unknown[] = [];
    for await (const v of client.listPropertiesOfKeyVersions(k.name)) versions.push({ v: v.version, enabled: v.enabled, tags: v.tags ?? {} });
    out[k.name] = versions.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  }
  return out;
}

async function writesOn(hsm: string, since: string): Promise<string[]> {
  const res = await emu.control(hsm, "GET", `/_emulator/audit?since=${encodeURIComponent(since)}`);
  return (res.body.value as Array<{ operationName: string }>).map((r) => r.operationName).filter((op) => WRITE_OPERATIONS.test(op));
}

async function auditCount(hsm: string, operationName: string, since: string): Promise<number> {
  const res = await emu.control(hsm, "GET", `/_emulator/audit?operationName=${operationName}&since=${encodeURIComponent(since)}&oid=${ADMIN_OID}`);
  return (res.body.value as unknown[]).length;
}

/** The newest verified backup; fails the test when the activity reports none. */
async function foundBackup(input: FindLatestVerifiedBackupInput, deps: DrillDeps): Promise<FoundVerifiedBackup> {
  const found = await findLatestVerifiedBackup(input, deps);
  if (found.kind !== "found") throw new Error(`expected a verified backup: ${found.reason}`);
  return found;
}

/** A refusal is a returned value, never a thrown error (durable would retry a thrown one). */
async function refusalOf(promise: Promise<CheckDrillSafetyOutput>): Promise<DrillRefusedOutcome> {
  const verdict = await promise;
  if (verdict.kind !== "refused") throw new Error("the interlocks should have refused");
  return verdict;
}

async function failureOf(promise: Promise<unknown>): Promise<LifecycleError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, "the call should have failed").toBeInstanceOf(LifecycleError);
  return error as LifecycleError;
}

/** The emulator's own record of an admin job, for checking RTO/RPO against it. */
async function emulatorJob(hsm: string, kind: "backup" | "restore", jobId: string): Promise<{ startTime: number; endTime: number; status: string }> {
  const res = await emu.request(hsm, "GET", `/${kind}/${jobId}/pending?api-version=2025-07-01`);
  expect(res.status).toBe(200);
  return res.body as { startTime: number; endTime: number; status: string };
}

beforeAll(async () => {
  azurite = await startAzurite();
  await azurite.blobServiceClient().createContainer(BACKUPS);
  await azurite.blobServiceClient().createContainer(REPORTS);
  emu = await startTestEmulator({
    hsms: ["primary", { name: "dr", securityDomain: "primary" }, "drforeign"],
    blobConnectionString: azurite.connectionString,
    tickIntervalMs: 60_000,
  });
  backupDeps = createBackupDeps({
    credential: emu.credential(ADMIN_OID),
    hsmClientOptions: { tlsOptions: { ca: emu.ca }, disableChallengeResourceVerification: true, retryOptions: { maxRetries: 0 } },
    blobService: azurite.blobServiceClient(),
    settings: { hsms: configuredInstancesOf(emu), adminJobTimeoutMs: 3_600_000, storage: { backupContainer: BACKUPS, backupAuth: "managedIdentity", manifestKey: TEST_MANIFEST_KEY, drillReportsContainer: REPORTS } },
  });

  const keys = emu.keyClient("primary");
  await keys.createRsaKey("signer", { tags: { owner: "payments <team>" } });
  await keys.updateKeyRotationPolicy("signer", { lifetimeActions: [{ action: "Rotate", timeAfterCreate: "P90D" }], expiresIn: "P180D" });
  await keys.rotateKey("signer");
  await keys.createRsaKey("wrapper", { keyOps: ["wrapKey", "unwrapKey"], expiresOn: new Date("2030-01-01T00:00:00Z") });
  await keys.createRsaKey("encrypter", { keyOps: ["encrypt", "decrypt"] });
  await keys.createEcKey("ec-signer", { curve: "P-384" });
  await keys.createOctKey("aes", { hsm: true, keySize: 256, keyOps: ["encrypt", "decrypt", "wrapKey", "unwrapKey"] });
  await new KeyVaultAccessControlClient(emu.url("primary"), emu.credential(ADMIN_OID), { tlsOptions: { ca: emu.ca }, disableChallengeResourceVerification: true }).createRoleAssignment(
    "/keys/signer",
    randomUUID(),
    KnownManagedHsmRoleDefinitionIds.CryptoUser,
    OTHER_PRINCIPAL,
  );
  await emu.keyClient("dr").createRsaKey("dr-only");
}, 120_000);

afterAll(async () => {
  await emu?.close();
  await azurite?.stop();
});

describe("restore drill activities", () => {
  it("refuses a drill whose target is the primary (an alias URL, or the same URL) before any write", async () => {
    const since = new Date().toISOString();
    const primaryUrl = emu.url("primary");
    const alias = primaryUrl.replace("127.0.0.1", "localhost");
    // The settings accept it (the URLs differ as text); the HSM's reported identity gives it away.
    const aliasDeps = drillDeps(settingsFor({ primary: primaryUrl, dr: alias }, "primary=dr"));
    const refused = await refusalOf(checkDrillSafety(pair, aliasDeps));
    expect(refused.code).toBe("DrillRefused");
    expect(refused.reason).toMatch(/^Drill primary → dr refused before any write: the drill target "dr" is the same HSM as primary "primary" \(it reports itself as "primary"/);
    // The destructive activities run the same interlocks themselves.
    const folderUrl = `${azurite.containerUrl(BACKUPS)}/mhsm-primary-2026112300000000`;
    expect((await failureOf(startRestore({ ...pair, folderUrl }, aliasDeps))).code).toBe("DrillRefused");
    expect((await failureOf(startSelectiveRestore({ ...pair, folderUrl, keyName: "signer" }, aliasDeps))).code).toBe("DrillRefused");

    // Same URL in hand-built settings (loadSettings would already refuse it): refused by configuration alone.
    const sameUrl: Pick<Settings, "hsms" | "drillPairs" | "objectives"> = {
      hsms: [
        { name: "primary", kind: "managedHsm", url: primaryUrl, role: "primary" },
        { name: "dr", kind: "managedHsm", url: `${primaryUrl}/`, role: "drillTarget" },
      ],
      drillPairs: [{ primary: "primary", target: "dr", primaryUrl, targetUrl: `${primaryUrl}/` }],
      objectives: { rtoMs: 3_600_000, rpoMs: 86_400_000 },
    };
    const sameDeps = drillDeps(sameUrl);
    expect((await refusalOf(checkDrillSafety(pair, sameDeps))).reason).toMatch(/same URL as primary "primary"/);
    expect((await failureOf(startDrillTargetBackup(pair, sameDeps))).code).toBe("DrillRefused");
    expect((await failureOf(startRestore({ ...pair, folderUrl }, sameDeps))).code).toBe("DrillRefused");
    expect((await failureOf(preRestoreCheck({ ...pair, folderUrl }, sameDeps))).code).toBe("DrillRefused");

    expect(await writesOn("primary", since)).toEqual([]);
  });

  it("runs a full drill: DR self-backup, pre-check, restore, inventory, probes, roles; the report's RTO/RPO match the HSM's job times", async () => {
    const backup = await verifiedBackupOfPrimary();
    const deps = drillDeps(settingsFor({ primary: emu.url("primary"), dr: emu.url("dr") }, "primary=dr"));
    const drillStart = new Date().toISOString();
    const drillId = `drill:primary:dr:${Date.now()}`;

    const safety = await checkDrillSafety(pair, deps);
    if (safety.kind !== "safe") throw new Error(safety.reason);
    expect(safety).toMatchObject({ kind: "safe", primaryUrl: emu.url("primary"), targetUrl: emu.url("dr"), targetIdentity: { name: "dr" } });

    const chosen = await foundBackup({ primary: "primary", drillStart }, deps);
    expect(chosen.folder).toBe(backup.folder);
    expect(chosen.jobId).toBe(backup.jobId);
    expect(chosen.keyCount).toBe(5);
    const backupJob = await emulatorJob("primary", "backup", backup.jobId);
    expect(Date.parse(chosen.endTime)).toBe(backupJob.endTime * 1000);
    expect(chosen.rpoMs).toBe(Date.parse(drillStart) - backupJob.endTime * 1000);

    const drBackup = await startDrillTargetBackup(pair, deps);
    const drBackupDone = await untilDone(() => getDrillTargetBackupStatus({ ...pair, jobId: drBackup.jobId }, deps));
    expect(drBackupDone).toMatchObject({ status: "Succeeded", folderUrl: expect.stringMatching(/\/hsm-backups\/mhsm-dr-\d{16}$/) });

    const pre = await preRestoreCheck({ ...pair, folderUrl: chosen.folderUrl }, deps);
    expect((await untilDone(() => getRestoreStatus({ ...pair, jobId: pre.jobId }, deps))).status).toBe("Succeeded");
    expect(await inventoryOf("dr")).toHaveProperty("dr-only"); // the check changed nothing

    const restore = await startRestore({ ...pair, folderUrl: chosen.folderUrl }, deps);
    const restored: RestoreStatus = await untilDone(() => getRestoreStatus({ ...pair, jobId: restore.jobId }, deps));
    expect(restored.status).toBe("Succeeded");

    const getsBefore = (await auditCount("primary", "KeyGet", drillStart)) + (await auditCount("dr", "KeyGet", drillStart));
    const inventory = await verifyRestoredInventory({ ...pair, folder: chosen.folder }, deps);
    expect(inventory.checks.map((c) => [c.name, c.passed, c.problems])).toEqual([
      ["inventory", true, []],
      ["rotationPolicies", true, []],
    ]);
    expect(inventory.checks[0]!.detail).toMatch(/^5\/5 keys and 6\/6 versions/);
    // Policies compared with the manifest's (recorded at backup time): one read per key, on DR only.
    expect(inventory.policyReads).toBe(5);
    expect(inventory.checks[1]!.detail).toBe(`5/5 rotation policies as in backup ${chosen.folder}.`);
    expect(inventory.keysVerified).toBe(5);

    const ledger = blobSingleKeyGetLedger(reportsContainer(), `${ADMIN_OID}:full-drill`, 25);
    // Two keys per family: RSA gets encrypter (encrypt-only) and signer, EC and oct their only key.
    const probes = await runCryptoProbes({ ...pair, folder: chosen.folder, getBudget: 25, perFamily: 2 }, { ...deps, getLedger: ledger });
    expect(probes.checks.map((c) => c.name).sort()).toEqual(["cryptoProbe:aes", "cryptoProbe:ec-signer", "cryptoProbe:encrypter", "cryptoProbe:signer"]);
    for (const c of probes.checks) expect(c, c.name).toMatchObject({ passed: true, problems: [] });
    expect(probes.checks.find((c) => c.name === "cryptoProbe:aes")!.detail).toMatch(/4 of 4 cross-HSM probes passed \(encrypt on primary → decrypt on DR; encrypt on DR → decrypt on primary; wrap on primary → unwrap on DR; wrap on DR → unwrap on primary\)/);
    expect(probes.checks.find((c) => c.name === "cryptoProbe:signer")!.detail).toMatch(/sign on primary → verify on DR; sign on DR → verify on primary; wrap on primary → unwrap on DR; wrap on DR → unwrap on primary/);
    expect(probes.checks.find((c) => c.name === "cryptoProbe:encrypter")!.detail).toMatch(/2 of 2 cross-HSM probes passed \(encrypt on primary → decrypt on DR; encrypt on DR → decrypt on primary\)/);
    expect(probes.singleKeyGets).toBe(8);
    // Sentinel budget: the drill's single-key GETs are exactly the probes' and within 25 a day.
    const getsAfter = (await auditCount("primary", "KeyGet", drillStart)) + (await auditCount("dr", "KeyGet", drillStart));
    expect(getsAfter - getsBefore).toBe(probes.singleKeyGets);
    expect(getsAfter).toBeLessThanOrEqual(25);
    const ledgerBlobs: string[] = [];
    for await (const b of reportsContainer().listBlobsFlat({ prefix: `sentinel-budget/${new Date().toISOString().slice(0, 10)}/` })) ledgerBlobs.push(b.name);
    expect(ledgerBlobs).toHaveLength(1);
    expect(ledgerBlobs[0]).not.toContain(ADMIN_OID); // identities are hashed in blob names
    expect(JSON.parse((await reportsContainer().getBlobClient(ledgerBlobs[0]!).downloadToBuffer()).toString("utf8"))).toEqual({ used: 8, limit: 25 });

    const roles = await verifyRoleAssignments({ ...pair, folder: chosen.folder }, deps);
    expect(roles.check).toMatchObject({ name: "roleAssignments", passed: true, problems: [], detail: expect.stringMatching(new RegExp(`^\\d+/\\d+ role assignments of backup ${chosen.folder} present on DR\\.$`)) });

    const verificationDone = [inventory.finishedAt, probes.finishedAt, roles.finishedAt].sort().at(-1)!;
    const restoreJob = await emulatorJob("dr", "restore", restore.jobId);
    const restoreStart = restored.startTime!;
    expect(Date.parse(restoreStart)).toBe(restoreJob.startTime * 1000);
    const written = await writeDrillReport(
      {
        drillId,
        kind: "full",
        primary: { name: "primary", url: safety.primaryUrl },
        target: { name: "dr", url: safety.targetUrl },
        startedAt: drillStart,
        finishedAt: verificationDone,
        backup: { folder: chosen.folder, folderUrl: chosen.folderUrl, jobId: chosen.jobId, startTime: chosen.startTime, endTime: chosen.endTime },
        targetBackup: { folderUrl: drBackupDone.folderUrl!, jobId: drBackup.jobId, endTime: drBackupDone.endTime! },
        restore: { jobId: restore.jobId, status: restored.status, startTime: restoreStart, endTime: restored.endTime! },
        checks: [...inventory.checks, ...probes.checks, roles.check],
        singleKeyGets: probes.singleKeyGets,
        keysVerified: inventory.keysVerified,
        times: { drillStart, backupEnd: chosen.endTime, restoreStart, verificationDone },
      },
      deps,
    );
    expect(written).toMatchObject({ verdict: "passed", failures: [], jsonBlob: `${drillId.replace(/:/g, "-")}/report.json` });

    const report = JSON.parse((await reportsContainer().getBlobClient(written.jsonBlob).downloadToBuffer()).toString("utf8")) as DrillReport;
    expect(report.verdict).toBe("passed");
    expect(report.objectives!.rpoMs).toBe(Date.parse(drillStart) - backupJob.endTime * 1000);
    expect(report.objectives!.rtoMs).toBe(Date.parse(verificationDone) - restoreJob.startTime * 1000);
    expect(report.objectives).toMatchObject({ rpoMet: true, rtoMet: true, rtoTargetMs: 3_600_000, rpoTargetMs: 86_400_000 });
    expect(drillEventFor(report, drillId)).toMatchObject({ type: "HsmLifecycle.DrillCompleted", data: { keysVerified: 5, rtoSeconds: report.objectives!.rtoMs / 1000, folderUrl: chosen.folderUrl } });
    const html = (await reportsContainer().getBlobClient(written.htmlBlob).downloadToBuffer()).toString("utf8");
    const props = await reportsContainer().getBlobClient(written.htmlBlob).getProperties();
    expect(props.contentType).toBe("text/html; charset=utf-8");
    expect(html).toContain('data-verdict="passed"');
    expect(html).toContain('data-check="cryptoProbe:signer"');
    expect(html).toContain('data-objective="rto"');
    // No key material, no tag values in either document.
    for (const text of [html, JSON.stringify(report)]) {
      expect(text).not.toMatch(/"(n|e|d|k|x|y)"\s*:|-----BEGIN/);
      expect(text).not.toContain("payments");
    }
  });

  it("a tampered backup: the restore fails, the report says why, DR is unchanged", async () => {
    const backup = await verifiedBackupOfPrimary();
    // Altered in storage after the backup workflow verified it.
    const blob = azurite.blobServiceClient().getContainerClient(BACKUPS).getBlockBlobClient(`${backup.folder}/keys/signer`);
    const envelope = JSON.parse((await blob.downloadToBuffer()).toString("utf8")) as { ciphertext: string };
    const bytes = Buffer.from(envelope.ciphertext, "base64");
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0x01;
    envelope.ciphertext = bytes.toString("base64");
    const text = JSON.stringify(envelope);
    await blob.upload(text, Buffer.byteLength(text));

    await emu.keyClient("dr").createRsaKey("dr-marker");
    const deps = drillDeps(settingsFor({ primary: emu.url("primary"), dr: emu.url("dr") }, "primary=dr"));
    const drillStart = new Date().toISOString();
    await checkDrillSafety(pair, deps);
    const chosen = await foundBackup({ primary: "primary", drillStart }, deps);
    expect(chosen.folder).toBe(backup.folder);
    const drBackup = await startDrillTargetBackup(pair, deps);
    expect((await untilDone(() => getDrillTargetBackupStatus({ ...pair, jobId: drBackup.jobId }, deps))).status).toBe("Succeeded");
    const before = await inventoryOf("dr");

    const restore = await startRestore({ ...pair, folderUrl: chosen.folderUrl }, deps);
    const failed = await untilDone(() => getRestoreStatus({ ...pair, jobId: restore.jobId }, deps));
    expect(failed.status).toBe("Failed");
    expect(failed.failure?.code).toBe("BackupIntegrityFailed");
    expect(failed.failure?.message).toMatch(/^\[BackupIntegrityFailed\] The backup folder failed the HSM's integrity check \(.*keys\/signer/);
    expect(await inventoryOf("dr")).toEqual(before);

    const written = await writeDrillReport(
      {
        drillId: `drill-tampered-${Date.now()}`,
        kind: "full",
        primary: { name: "primary", url: emu.url("primary") },
        target: { name: "dr", url: emu.url("dr") },
        startedAt: drillStart,
        finishedAt: new Date().toISOString(),
        backup: { folder: chosen.folder, folderUrl: chosen.folderUrl, jobId: chosen.jobId, startTime: chosen.startTime, endTime: chosen.endTime },
        restore: { jobId: restore.jobId, status: failed.status, startTime: failed.startTime!, endTime: failed.endTime! },
        checks: [],
        singleKeyGets: 0,
        failure: failed.failure!.message,
      },
      deps,
    );
    expect(written.verdict).toBe("failed");
    const report = JSON.parse((await reportsContainer().getBlobClient(written.jsonBlob).downloadToBuffer()).toString("utf8")) as DrillReport;
    expect(report.failures).toEqual([failed.failure!.message]);
    const html = (await reportsContainer().getBlobClient(written.htmlBlob).downloadToBuffer()).toString("utf8");
    expect(html).toContain('data-verdict="failed"');
    expect(html).toContain("[BackupIntegrityFailed] The backup folder failed the HSM&#39;s integrity check");
  });

  it("a DR HSM with another security domain fails at the pre-restore check, before anything destructive", async () => {
    const deps = drillDeps(settingsFor({ primary: emu.url("primary"), drforeign: emu.url("drforeign") }, "primary=drforeign"));
    const foreign = { primary: "primary", target: "drforeign" };
    const since = new Date().toISOString();
    const before = await inventoryOf("drforeign");
    await checkDrillSafety(foreign, deps);
    const chosen = await foundBackup({ primary: "primary", drillStart: since }, deps);
    const drBackup = await startDrillTargetBackup(foreign, deps);
    expect((await untilDone(() => getDrillTargetBackupStatus({ ...foreign, jobId: drBackup.jobId }, deps))).status).toBe("Succeeded");
    const pre = await preRestoreCheck({ ...foreign, folderUrl: chosen.folderUrl }, deps);
    const checked = await untilDone(() => getRestoreStatus({ ...foreign, jobId: pre.jobId }, deps));
    expect(checked.status).toBe("Failed");
    expect(checked.failure?.code).toBe("SecurityDomainMismatch");
    expect(checked.failure?.message).toMatch(/^\[SecurityDomainMismatch\] The DR HSM does not share the primary's security domain/);
    // Only its own backup ran (it writes to storage, not to the HSM); no restore was started.
    expect([...new Set(await writesOn("drforeign", since))]).toEqual(["BackupCreate"]);
    expect(await inventoryOf("drforeign")).toEqual(before);
  });

  it("selective drill: one key purged on DR, restored from the backup, verified and probed", async () => {
    const deps = drillDeps(settingsFor({ primary: emu.url("primary"), dr: emu.url("dr") }, "primary=dr"));
    const keys = emu.keyClient("primary");
    await keys.createRsaKey("sel-key", { tags: { purpose: "selective" } });
    await keys.createRsaKey("sel-key");
    const backup = await verifiedBackupOfPrimary();
    // DR holds a different key of that name: it must be deleted and purged before the selective restore.
    await emu.keyClient("dr").createEcKey("sel-key");
    const drOthersBefore = await inventoryOf("dr");

    const drillStart = new Date().toISOString();
    const chosen = await foundBackup({ primary: "primary", drillStart }, deps);
    expect(chosen.folder).toBe(backup.folder);
    const started = await startSelectiveRestore({ ...pair, folderUrl: chosen.folderUrl, keyName: "sel-key" }, deps);
    expect(started.cleared).toBe("deletedAndPurged");
    const done = await untilDone(() => getRestoreStatus({ ...pair, jobId: started.jobId }, deps));
    expect(done.status).toBe("Succeeded");

    const inventory = await verifyRestoredInventory({ ...pair, folder: chosen.folder, keyName: "sel-key" }, deps);
    expect(inventory.checks.map((c) => [c.name, c.passed])).toEqual([
      ["inventory", true],
      ["rotationPolicies", true],
    ]);
    expect(inventory.checks[0]!.detail).toMatch(/^1\/1 keys and 2\/2 versions/);
    const probes = await runCryptoProbes({ ...pair, folder: chosen.folder, keyName: "sel-key", getBudget: 4 }, deps);
    expect(probes.checks.map((c) => [c.name, c.passed])).toEqual([["cryptoProbe:sel-key", true]]);
    expect(probes.singleKeyGets).toBe(2);
    const after = (await inventoryOf("dr")) as Record<string, unknown>;
    const { "sel-key": _drop, ...othersAfter } = after;
    const { "sel-key": _dropBefore, ...othersBefore } = drOthersBefore as Record<string, unknown>;
    expect(othersAfter).toEqual(othersBefore); // only that key changed on DR
  });

  it("verification names every way DR differs, and a breached RTO fails the report", async () => {
    const deps = drillDeps(settingsFor({ primary: emu.url("primary"), dr: emu.url("dr") }, "primary=dr"));
    const drillStart = new Date().toISOString();
    const chosen = await foundBackup({ primary: "primary", drillStart }, deps);
    // DR drifted after its last restore: an extra key (dr-marker, from the tampered-backup test), a disabled
    // version, a role assignment gone.
    const dr = emu.keyClient("dr");
    const wrapper = await dr.updateKeyProperties("wrapper", { enabled: false });
    const rbac = new KeyVaultAccessControlClient(emu.url("dr"), emu.credential(ADMIN_OID), { tlsOptions: { ca: emu.ca }, disableChallengeResourceVerification: true });
    for await (const a of rbac.listRoleAssignments("/")) if (a.properties.principalId === OTHER_PRINCIPAL) await rbac.deleteRoleAssignment(a.properties.scope ?? "/", a.name);

    const inventory = await verifyRestoredInventory({ ...pair, folder: chosen.folder }, deps);
    expect(inventory.checks[0]).toMatchObject({ name: "inventory", passed: false });
    expect(inventory.checks[0]!.problems).toEqual([
      `wrapper/${wrapper.properties.version}: enabled true expected, found false.`,
      "dr-marker: on DR but not in the backup (the restore did not replace DR's keys).",
    ]);
    const roles = await verifyRoleAssignments({ ...pair, folder: chosen.folder }, deps);
    expect(roles.check.passed).toBe(false);
    expect(roles.check.problems).toEqual([expect.stringMatching(new RegExp(`^missing on DR: scope /keys/signer role .* principal ${OTHER_PRINCIPAL}$`))]);
    const probes = await runCryptoProbes({ ...pair, folder: chosen.folder, getBudget: 1 }, deps);
    expect(probes.singleKeyGets).toBe(0);
    // A spent budget is not a finding about DR: no probe, said so, and the check does not fail the drill.
    expect(probes.checks).toEqual([expect.objectContaining({ name: "cryptoProbeCoverage", passed: true, detail: expect.stringMatching(/^No key probed: the day's single-key GET budget/) })]);

    // The day's ledger is shared: with 2 GETs left for this identity, one probe runs and the rest are named.
    const ledger = blobSingleKeyGetLedger(reportsContainer(), "drift-identity", 2);
    const limited = await runCryptoProbes({ ...pair, folder: chosen.folder }, { ...deps, getLedger: ledger });
    expect(limited.singleKeyGets).toBe(2);
    expect(limited.checks.filter((c) => c.name.startsWith("cryptoProbe:"))).toHaveLength(1);
    const coverage = limited.checks.find((c) => c.name === "cryptoProbeCoverage");
    expect(coverage?.problems).toEqual([expect.stringMatching(/today \(2 of 2\) leave no room/), expect.stringMatching(/today \(2 of 2\) leave no room/)]);
    expect((await runCryptoProbes({ ...pair, folder: chosen.folder }, { ...deps, getLedger: ledger })).singleKeyGets).toBe(0);

    const tight = drillDeps({ ...settingsFor({ primary: emu.url("primary"), dr: emu.url("dr") }, "primary=dr"), objectives: { rtoMs: 1, rpoMs: 86_400_000 } });
    const written = await writeDrillReport(
      {
        drillId: `drill-drifted-${Date.now()}`,
        kind: "full",
        primary: { name: "primary", url: emu.url("primary") },
        target: { name: "dr", url: emu.url("dr") },
        startedAt: drillStart,
        finishedAt: inventory.finishedAt,
        checks: [{ name: "roleAssignments", passed: true, detail: "as on primary" }],
        singleKeyGets: 0,
        times: { drillStart, backupEnd: chosen.endTime, restoreStart: drillStart, verificationDone: new Date(Date.parse(drillStart) + 5_000).toISOString() },
      },
      tight,
    );
    expect(written.verdict).toBe("failed");
    expect(written.failures).toEqual([expect.stringMatching(/^RTO 5s exceeds the target 0\.001s \(RTO_TARGET\)/)]);
  });

  it("refuses bad input without touching the HSM", async () => {
    const deps = drillDeps(settingsFor({ primary: emu.url("primary"), dr: emu.url("dr") }, "primary=dr"));
    const since = new Date().toISOString();
    expect((await failureOf(startRestore({ ...pair, folderUrl: `${azurite.containerUrl(BACKUPS)}/mhsm-primary-1?sv=x&sig=y` }, deps))).code).toBe("BadParameter");
    expect((await failureOf(startSelectiveRestore({ ...pair, folderUrl: `${azurite.containerUrl(BACKUPS)}/mhsm-primary-1`, keyName: "../x" }, deps))).code).toBe("BadParameter");
    expect(await findLatestVerifiedBackup({ primary: "nobody", drillStart: since }, deps)).toEqual({ kind: "noVerifiedBackup", reason: expect.stringMatching(/^No verified backup of "nobody" ended before .*Fix: run the backup workflow/) });
    expect((await refusalOf(checkDrillSafety({ primary: "primary", target: "primary" }, deps))).reason).toMatch(/not a configured drill pair.*configured as a primary/);
    expect(await writesOn("dr", since)).toEqual([]);
  });

  it("with BACKUP_AUTH=sas: a crdw SAS for DR's self-backup, an rl SAS for the pre-check and the restore", async () => {
    const requested: DrillSasPermissions[] = [];
    const issue = drillStorageSas(azurite.blobServiceClient(), BACKUPS, 3_600_000);
    const deps: DrillDeps = {
      ...drillDeps(settingsFor({ primary: emu.url("primary"), dr: emu.url("dr") }, "primary=dr")),
      storageSas: async (p) => {
        requested.push(p);
        return issue(p);
      },
    };
    const chosen = await foundBackup({ primary: "primary", drillStart: new Date().toISOString() }, deps);
    const drBackup = await startDrillTargetBackup(pair, deps);
    const drBackupDone = await untilDone(() => getDrillTargetBackupStatus({ ...pair, jobId: drBackup.jobId }, deps));
    expect(drBackupDone.status).toBe("Succeeded");
    expect(JSON.stringify(drBackupDone)).not.toMatch(/sig=/); // the SAS never travels in activity results
    const pre = await preRestoreCheck({ ...pair, folderUrl: chosen.folderUrl }, deps);
    expect((await untilDone(() => getRestoreStatus({ ...pair, jobId: pre.jobId }, deps))).status).toBe("Succeeded");
    const restore = await startRestore({ ...pair, folderUrl: chosen.folderUrl }, deps);
    const done = await untilDone(() => getRestoreStatus({ ...pair, jobId: restore.jobId }, deps));
    expect(done.status).toBe("Succeeded");
    expect(requested).toEqual(["crdw", "rl", "rl"]);
    const inventory = await verifyRestoredInventory({ ...pair, folder: chosen.folder }, deps);
    expect(inventory.checks.every((c) => c.passed)).toBe(true);
  });

  /** A full restore of `folder` into DR through the activities, as the orchestration runs them. */
  async function restoreIntoDr(folderUrl: string, deps: DrillDeps): Promise<void> {
    const drBackup = await startDrillTargetBackup(pair, deps);
    expect((await untilDone(() => getDrillTargetBackupStatus({ ...pair, jobId: drBackup.jobId }, deps))).status).toBe("Succeeded");
    const restore = await startRestore({ ...pair, folderUrl }, deps);
    expect((await untilDone(() => getRestoreStatus({ ...pair, jobId: restore.jobId }, deps))).status).toBe("Succeeded");
  }

  it("keys rotated, a policy changed and a role granted on the primary AFTER the backup: DR is compared with the backup and passes", async () => {
    const deps = drillDeps(settingsFor({ primary: emu.url("primary"), dr: emu.url("dr") }, "primary=dr"));
    const keys = emu.keyClient("primary");
    await keys.updateKeyRotationPolicy("wrapper", { lifetimeActions: [{ action: "Notify", timeBeforeExpiry: "P30D" }], expiresIn: "P1Y" });
    const backup = await verifiedBackupOfPrimary();
    const manifest = (await deps.backups.getBackup("primary", backup.folder))!.manifest;
    expect(manifest.schemaVersion).toBe(2);
    expect(manifest.keys.find((k) => k.name === "wrapper")!.rotationPolicy).toEqual({ lifetimeActions: [{ action: "Notify", timeAfterCreate: null, timeBeforeExpiry: "P30D" }], expiresIn: "P1Y" });
    expect(manifest.roleAssignments).toContainEqual({ scope: "/keys/signer", roleDefinitionId: expect.any(String), principalId: OTHER_PRINCIPAL });

    // Today's rotations, after last night's backup: new versions, changed policies, a new grant.
    await keys.rotateKey("signer");
    await keys.rotateKey("wrapper");
    await keys.updateKeyRotationPolicy("signer", { lifetimeActions: [{ action: "Rotate", timeAfterCreate: "P30D" }], expiresIn: "P60D" });
    await keys.updateKeyRotationPolicy("wrapper", { lifetimeActions: [{ action: "Rotate", timeBeforeExpiry: "P7D" }], expiresIn: "P90D" });
    await new KeyVaultAccessControlClient(emu.url("primary"), emu.credential(ADMIN_OID), { tlsOptions: { ca: emu.ca }, disableChallengeResourceVerification: true }).createRoleAssignment(
      "/keys/wrapper",
      randomUUID(),
      KnownManagedHsmRoleDefinitionIds.CryptoUser,
      OTHER_PRINCIPAL,
    );

    const chosen = await foundBackup({ primary: "primary", drillStart: new Date().toISOString() }, deps);
    expect(chosen.folder).toBe(backup.folder);
    await restoreIntoDr(chosen.folderUrl, deps);
    const inventory = await verifyRestoredInventory({ ...pair, folder: chosen.folder }, deps);
    for (const c of inventory.checks) expect(c, c.name).toMatchObject({ passed: true, problems: [] });
    // A policy set in the job's start second may be on either side of it: not compared (and said so) rather than guessed.
    expect(inventory.checks.find((c) => c.name === "rotationPolicies")!.detail).toMatch(new RegExp(`^(\\d+)/\\1 rotation policies as in backup ${chosen.folder}( \\(1 set during the backup job not compared: the backup may hold the earlier one\\))?\\.$`));
    const roles = await verifyRoleAssignments({ ...pair, folder: chosen.folder }, deps);
    expect(roles.check).toMatchObject({ passed: true, problems: [] });

    // The same DR against the LIVE primary (the v1 fallback) shows exactly the post-backup changes.
    const live = await verifyRoleAssignments(pair, deps);
    expect(live.check.problems).toEqual([expect.stringMatching(new RegExp(`^missing on DR: scope /keys/wrapper role .* principal ${OTHER_PRINCIPAL}$`))]);
    expect(live.check.detail).toMatch(/role assignments of the primary \(no backup named\)/);
  });

  it("a rotation DURING the backup job: the new version is not expected on DR, and the drill passes", async () => {
    const deps = drillDeps(settingsFor({ primary: emu.url("primary"), dr: emu.url("dr") }, "primary=dr"));
    const keys = emu.keyClient("primary");
    let rotated = "";
    let created = "";
    const backup = await verifiedBackupOfPrimary(async () => {
      // The job is running (the HSM answered 202); the app's rotation goes on meanwhile.
      rotated = (await keys.rotateKey("signer")).properties.version!;
      created = (await keys.createRsaKey("born-during-backup")).properties.version!;
    });
    const manifest = (await deps.backups.getBackup("primary", backup.folder))!.manifest;
    const signer = manifest.keys.find((k) => k.name === "signer")!;
    // Created after the job's start second (not in `versions`), or in that second (listed, but not required).
    const notRequired = [...(signer.versionsDuringBackup ?? []), ...(signer.versionsAtBackupStart ?? [])];
    expect(notRequired).toContain(rotated);
    expect(signer.versions.filter((v) => !(signer.versionsAtBackupStart ?? []).includes(v.version)).map((v) => v.version)).not.toContain(rotated);
    const born = manifest.keys.find((k) => k.name === "born-during-backup");
    if (born === undefined) expect(manifest.keysDuringBackup).toEqual(["born-during-backup"]);
    else expect(born.versionsAtBackupStart).toEqual([created]);
    expect(created).not.toBe("");

    const chosen = await foundBackup({ primary: "primary", drillStart: new Date().toISOString() }, deps);
    expect(chosen.folder).toBe(backup.folder);
    await restoreIntoDr(chosen.folderUrl, deps);
    const inventory = await verifyRestoredInventory({ ...pair, folder: chosen.folder }, deps);
    for (const c of inventory.checks) expect(c, c.name).toMatchObject({ passed: true, problems: [] });
    expect(inventory.keysVerified).toBe(manifest.keys.filter((k) => k.name !== "born-during-backup").length);
    expect((await verifyRoleAssignments({ ...pair, folder: chosen.folder }, deps)).check.passed).toBe(true);
  });

  it("the drill's backup is held against retention while the drill runs: a newer backup's retention keeps it and says why", async () => {
    const deps = drillDeps(settingsFor({ primary: emu.url("primary"), dr: emu.url("dr") }, "primary=dr"));
    const older = await verifiedBackupOfPrimary();
    const manifest = azurite.blobServiceClient().getContainerClient(BACKUPS).getBlobClient(manifestBlobName(older.folder));
    const before = await manifest.getProperties();
    const chosen = await foundBackup({ primary: "primary", drillStart: new Date().toISOString(), drillId: "drill:primary:dr:full:held" }, deps);
    expect(chosen.folder).toBe(older.folder);
    // The hold is a blob of its own in the reports container; the manifest (authenticated metadata) is untouched.
    const hold = JSON.parse((await reportsContainer().getBlobClient(`backup-holds/${older.folder}.json`).downloadToBuffer()).toString("utf8")) as { referencedBy: string; referencedUntil: string };
    expect(hold.referencedBy).toBe("drill:primary:dr:full:held");
    expect(Date.parse(hold.referencedUntil)).toBeGreaterThan(Date.now() + 11 * 3_600_000);
    const after = await manifest.getProperties();
    expect(after.etag).toBe(before.etag);
    expect(after.metadata).toEqual(before.metadata);

    // A newer backup the same day takes the only daily slot; without the hold, retention would delete the older one.
    await verifiedBackupOfPrimary();
    const applied = await applyBackupRetention({ policy: { daily: 1, weekly: 0, monthly: 0 }, now: new Date().toISOString(), dryRun: false, hsmName: "primary" }, backupDeps);
    expect(applied.plan.keep.find((k) => k.folder === older.folder)?.reasons).toEqual([expect.stringMatching(/^referenced by a running drill until /)]);
    expect(applied.deleted).not.toContain(older.folder);
    expect(await manifest.exists()).toBe(true);
  });
});
