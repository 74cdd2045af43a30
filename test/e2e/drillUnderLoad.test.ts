/**
 * Drills that hold up on a busy day. Consistent inventories: a key rotated (policy set, new version) while the primary's backup job runs. The job
 * holds the state as of its start; the manifest, written after the job, marks what changed during it instead of
 * recording it as backed up, so the drill that restores that backup passes. The job is held mid-flight by the
 * stack's storage gate (the HSM's writes wait in it). The day's single-key GET budget spent (as by six earlier
 * drills): the next drill still passes and reports that it probed nothing and why.
 * Needs `npx tsc -p tsconfig.json` first.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KeyClient } from "@azure/keyvault-keys";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack, type LocalStack } from "../../dev/localStack";
import { startBackup } from "../../shared/backup/activities/start";
import { getBackupStatus } from "../../shared/backup/activities/status";
import { writeBackupManifest } from "../../shared/backup/activities/manifestWrite";
import { verifyBackup } from "../../shared/backup/activities/verify";
import { manifestBlobName, parseBackupManifest } from "../../shared/backup/backupManifest";
import type { RestoreDrillOutput } from "../../shared/drill/types";
import { backupDepsOf, postDrill, readReport } from "./drillStackSupport";

let stack: LocalStack;
let stateDir: string;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "drill-rotation-e2e-"));
  stack = await startLocalStack({
    stateDir,
    azuriteInMemory: true,
    demoKeys: true,
    storageGate: true,
    runner: { clock: "virtual", port: 0, startupTimers: false, scheduleTimers: false },
    settingsOverrides: { RTO_TARGET: "PT1H", RPO_TARGET: "P1D" },
  });
}, 180_000);

afterAll(async () => {
  stack?.storageGate?.release();
  await stack?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

const until = async <T>(what: string, read: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> => {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe("drills on a busy day", () => {
  it("is marked in the manifest, not counted as backed up, and the drill of that backup passes", async () => {
    const gate = stack.storageGate!;
    const deps = backupDepsOf(stack);
    const hsm = { hsmName: "primary" };
    const keys = new KeyClient(stack.urls.primary, stack.adminCredential, stack.clientOptions());
    const before = (await keys.getKey("pay-signing")).properties.version!;

    gate.hold(); // the job's writes wait in the gate: it stays InProgress with the state as of its start
    let released = false;
    let jobId: string;
    try {
      ({ jobId } = await startBackup(hsm, deps));
      const started = await getBackupStatus({ ...hsm, jobId }, deps);
      expect(started.status).toBe("InProgress");
      // HSM timestamps are whole seconds: rotate in a second after the job's start, as a sweep during the night would.
      const startSecond = Math.floor(Date.parse(started.startTime) / 1000);
      await until("the HSM clock to pass the job's start second", async () => (Math.floor(Date.now() / 1000) > startSecond ? true : undefined));
      // Not due by itself (the HSM's own auto-rotation must not add versions while the test runs).
      await keys.updateKeyRotationPolicy("pay-signing", { lifetimeActions: [{ action: "Rotate", timeAfterCreate: "P90D" }], expiresIn: "P180D" });
      await keys.rotateKey("pay-signing");
    } finally {
      gate.release();
      released = true;
    }
    expect(released).toBe(true);
    const done = await until("the backup job", async () => {
      const s = await getBackupStatus({ ...hsm, jobId }, deps);
      if (s.status !== "InProgress" && s.status !== "Succeeded") throw new Error(`backup ended ${s.status}`);
      return s.status === "Succeeded" ? s : undefined;
    });
    const written = await writeBackupManifest({ ...hsm, jobId, folderUri: done.folderUri!, startTime: done.startTime, endTime: done.endTime! }, deps);
    await verifyBackup({ folder: written.folder }, deps);

    const container = BlobServiceClient.fromConnectionString(stack.storageConnectionString).getContainerClient(stack.settings["BACKUP_CONTAINER"]!);
    const manifest = parseBackupManifest((await container.getBlobClient(manifestBlobName(written.folder)).downloadToBuffer()).toString("utf8"), written.folder);
    const key = manifest.keys.find((k) => k.name === "pay-signing")!;
    const after = (await keys.getKey("pay-signing")).properties.version!;
    expect(key.versions.map((v) => v.version)).toContain(before);
    expect(key.versions.map((v) => v.version)).not.toContain(after);
    expect(key.versionsDuringBackup).toEqual([after]);
    expect(key.rotationPolicyChangedDuringBackup).toBe(true);

    const started = await postDrill(stack, { pair: "primary=dr" });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    await stack.runner!.waitForTerminal();
    const output = JSON.parse(stack.runner!.host.get(started.body.id)!.output!) as RestoreDrillOutput;
    const report = await readReport(stack, output.reportJson);
    expect(output.verdict, JSON.stringify({ failures: output.failures, checks: report.checks.filter((c) => !c.passed) })).toBe("passed");
    expect(report.backup?.folder).toBe(written.folder);
    const policies = report.checks.find((c) => c.name === "rotationPolicies")!;
    expect(policies.passed).toBe(true);
    expect(policies.detail).toContain("1 set during the backup job not compared");
    // The rotated key was probed only with a version surely in the backup, if at all.
    for (const c of report.checks.filter((x) => x.name === "cryptoProbe:pay-signing")) expect(c.detail).not.toContain(key.versionsDuringBackup![0]!);
  }, 240_000);

  it("with the day's single-key GET budget spent, the next drill still passes, reporting no probes and why", async () => {
    // The ledger every drill of this identity shares today (blobSingleKeyGetLedger), spent as by six earlier drills.
    const identity = stack.settings["DRILL_IDENTITY_CLIENT_ID"] || "system-assigned";
    const who = createHash("sha256").update(identity).digest("hex").slice(0, 32);
    const reports = BlobServiceClient.fromConnectionString(stack.storageConnectionString).getContainerClient(stack.settings["DRILL_REPORTS_CONTAINER"]!);
    const ledger = reports.getBlockBlobClient(`sentinel-budget/${new Date().toISOString().slice(0, 10)}/${who}.json`);
    const text = JSON.stringify({ used: 25, limit: 25 });
    await ledger.upload(text, Buffer.byteLength(text));

    const started = await postDrill(stack, { pair: "primary=dr" });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    await stack.runner!.waitForTerminal();
    const output = JSON.parse(stack.runner!.host.get(started.body.id)!.output!) as RestoreDrillOutput;
    expect(output.verdict, JSON.stringify(output.failures)).toBe("passed");
    const report = await readReport(stack, output.reportJson);
    expect(report.singleKeyGets).toBe(0);
    expect(report.checks.filter((c) => c.name.startsWith("cryptoProbe:"))).toEqual([]);
    const coverage = report.checks.find((c) => c.name === "cryptoProbeCoverage")!;
    expect(coverage).toMatchObject({ passed: true, detail: expect.stringMatching(/^No key probed: the day's single-key GET budget \(25 per identity/) });
    expect(coverage.problems?.join(" ")).toMatch(/single-key GETs today \(25 of 25\) leave no room/);
    expect(JSON.parse((await ledger.downloadToBuffer()).toString("utf8"))).toEqual({ used: 25, limit: 25 });
  }, 240_000);
});
