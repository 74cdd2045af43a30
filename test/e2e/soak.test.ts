/**
 * Acceptance soak: eight weeks unattended, time-compressed (the emulator's clocks moved night by night, the
 * runner's virtual time for the orchestrations), through dev/soak/soakSimulation.ts — the same core as
 * `node dist/bench/soak.js`. Nightly backups, daily sweeps started with them (rotations run during backups), weekly
 * full drills, the daily re-verification of every stored backup, manual backup and drill requests while those run,
 * a storage outage on one night and a backup altered in storage after verification: the re-verification catches
 * it that night and the drill falls back to the night before's. The stack runs with the immutable copy
 * (`backupCopy`: Azurite on HTTPS with OAuth, the copy container reached with the app's managed identity).
 * At the end, `hsm-lifecycle evidence --from <first night> --to <the morning after the last>` (the real CLI, as a
 * child process) answers the auditor's ten questions from those weeks, and the pack's seal holds (evidence verify,
 * openssl) until one byte of it changes.
 * Needs `npx tsc -p tsconfig.json` first (the runner loads dist/functions/*.js; the CLI is bin/hsm-lifecycle.js).
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KeyClient } from "@azure/keyvault-keys";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack, type LocalStack } from "../../dev/localStack";
import { runSoak, soakStackOptions, type SoakResult } from "../../dev/soak/soakSimulation";
import { EVIDENCE_KEY_NAME } from "../../shared/evidence/evidenceSigner";
import { runCliOn } from "../support/cliRunner";
import { CLI_BIN } from "../support/runCliProcess";

const DAYS = 56;
const OUTAGE_NIGHT = 17;
/** A drill night (nights 6, 13, 20, … drill). */
const TAMPER_NIGHT = 34;

let stack: LocalStack;
let stateDir: string;
let result: SoakResult;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "soak-e2e-"));
  // operatorManagedIdentity: the evidence pack reads role assignments as the RBAC administrator.
  stack = await startLocalStack({ stateDir, ...soakStackOptions(), operatorManagedIdentity: true });
  // The operator creates the sealing key once, before the weeks: the drills seal their reports with it too.
  await new KeyClient(stack.urls.primary, stack.adminCredential, stack.clientOptions()).createEcKey(EVIDENCE_KEY_NAME, { curve: "P-256", keyOps: ["sign", "verify"], hsm: true });
}, 180_000);

afterAll(async () => {
  await stack?.close();
  if (stateDir !== undefined) rmSync(stateDir, { recursive: true, force: true });
});

describe("eight weeks unattended", () => {
  it("runs every night, drill and sweep", async () => {
    result = await runSoak(stack, { days: DAYS, outageNight: OUTAGE_NIGHT, tamperNight: TAMPER_NIGHT });
    expect(result.nights).toBe(DAYS);
  }, 600_000);

  it("has a verified backup every night but two, each named: the outage night's failure and the altered backup", () => {
    for (const night of result.log) {
      if (night.night === OUTAGE_NIGHT) {
        expect(night.backup.outcome).toBe("failed");
        if (night.backup.outcome === "failed") expect(night.backup.cause).toMatch(/StorageUnreachable[\s\S]*BACKUP_DEADLINE/);
      } else {
        expect(night.backup, `night ${night.night}`).toMatchObject({ outcome: "verified" });
      }
      expect(night.sweep, `night ${night.night}'s sweep`).toMatch(/: Completed$/);
      // Every stored backup is re-hashed every night; only the altered one ever fails, on the night it was altered.
      expect(night.reverify.checked, `night ${night.night}`).toBeGreaterThan(0);
      expect(night.reverify.errors).toBe(0);
      expect(night.reverify.failed).toEqual(night.night === TAMPER_NIGHT ? [result.tampered!.folder] : []);
    }
    expect(result.integrityFailuresCaught).toBe(1);
    // Every verified backup was copied over HTTPS with the backup identity's token, its digests checked afterwards
    // (copyBackup re-hashes the copy against the manifest; a mismatch would have failed the night).
    for (const night of result.log) {
      if (night.backup.outcome !== "verified") continue;
      expect(night.backup.copy, `night ${night.night}`).not.toBeNull();
      expect(night.backup.copy!.destinationUrl).toBe(stack.backupCopy!.url);
      expect(night.backup.copy!.destinationUrl).toMatch(/^https:\/\//);
      expect(night.backup.copy!.copied + night.backup.copy!.alreadyPresent).toBeGreaterThan(0);
      // Azurite reports no immutability policy or legal hold on blobs: the copy says it saw none.
      expect(night.backup.copy!.immutability).toEqual({ visible: false });
      expect(night.backup.copiesRetained).toBe(0);
    }
    expect(result.verifiedBackups).toBe(DAYS - 2);
  });

  it("keeps the outage night's BackupFailed audit record: lost to the outage, written by its retry once storage came back", async () => {
    const audit = BlobServiceClient.fromConnectionString(stack.storageConnectionString).getContainerClient(stack.settings["AUDIT_CONTAINER"]!);
    const prefix = `backup/primary/${result.log[OUTAGE_NIGHT]!.at.slice(0, 10)}/`;
    const records: Array<Record<string, any>> = [];
    for await (const b of audit.listBlobsFlat({ prefix })) records.push(JSON.parse((await audit.getBlobClient(b.name).downloadToBuffer()).toString("utf8")) as Record<string, any>);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ outcome: "failed", data: { errorCode: "StorageUnreachable" }, event: { type: "HsmLifecycle.BackupFailed", kind: "published" } });
  });

  it("turns away the manual requests made while a backup or drill runs (409 naming the run)", () => {
    const manualBackups = result.log.flatMap((n) => (n.manualBackup === undefined ? [] : [n.manualBackup]));
    const manualDrills = result.log.flatMap((n) => (n.manualDrill === undefined ? [] : [n.manualDrill]));
    expect(manualBackups.length).toBeGreaterThanOrEqual(10);
    expect(manualDrills.length).toBeGreaterThanOrEqual(2);
    for (const status of [...manualBackups, ...manualDrills]) expect(status).toBe(409);
  });

  it("passes every weekly drill; the drill of the altered backup does not pass with it", () => {
    const drills = result.log.flatMap((n) => (n.drill === undefined ? [] : [{ night: n.night, ...n.drill }]));
    expect(drills.map((d) => d.night)).toEqual([6, 13, 20, 27, 34, 41, 48, 55]);
    for (const d of drills) {
      if (d.night === TAMPER_NIGHT) continue;
      expect(d.rejected, `night ${d.night}`).toEqual([]);
      expect(d, `night ${d.night}: ${d.failures.join("; ")}`).toMatchObject({ verdict: "passed" });
      expect(d.backupFolder).toBe((result.log[d.night]!.backup as { folder: string }).folder);
    }
    // The altered backup's drill fell back to the night before's, intact, and its report names the one it passed over.
    const tampered = result.tampered!;
    expect(tampered.folder).toBe((result.log[TAMPER_NIGHT]!.backup as { folder: string }).folder);
    const drill = tampered.drill!;
    expect(drill.verdict, drill.failures.join("; ")).toBe("passed");
    expect(drill.backupFolder).toBe((result.log[TAMPER_NIGHT - 1]!.backup as { folder: string }).folder);
    expect(drill.rejected).toContain(tampered.folder);
    expect(result.drillsFailed).toBe(0);
    expect(result.drillsPassed + result.drillsFailed).toBe(drills.length);
  });

  it("ends with exactly the daily/weekly/monthly set, no orphan folder, nothing deleted while referenced", () => {
    expect(result.retention.actual).toEqual(result.retention.expected);
    // 7 daily, the weeks and months beyond them: over eight weeks between 9 and 14 backups remain.
    expect(result.retention.actual.length).toBeGreaterThanOrEqual(9);
    expect(result.retention.actual.length).toBeLessThanOrEqual(14);
    // Copies follow their backups: exactly the retained set is left in the copy container.
    expect(result.copies).toEqual(result.retention.actual);
    expect(result.orphanFolders).toBe(0);
    expect(result.deletedWhileReferenced).toBe(0);
  });
});

describe("the evidence pack of those weeks", () => {
  const HOUR = 3_600_000;
  let from: string;
  let to: string;
  let outDir: string;
  let pack: any;
  const openssl = (dir: string): number => spawnSync("openssl", ["dgst", "-sha256", "-verify", join(dir, "signing-key.pem"), "-signature", join(dir, "evidence.sig"), join(dir, "evidence.json")], { encoding: "utf8" }).status ?? -1;
  const verify = (dir: string): number => spawnSync(process.execPath, [CLI_BIN, "evidence", "verify", dir], { encoding: "utf8" }).status ?? -1;
  const inPeriod = (iso: string): boolean => iso >= from && iso <= to;

  beforeAll(async () => {
    // The simulated weeks lie ahead of the machine clock: the pack is asked for exactly them.
    from = result.log[0]!.at;
    to = new Date(Date.parse(result.log.at(-1)!.at) + 6 * HOUR).toISOString();
    outDir = join(stateDir, "evidence");
    const run = await runCliOn(stack, ["evidence", "--out", outDir, "--from", from, "--to", to]);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    pack = JSON.parse(readFileSync(join(outDir, "evidence.json"), "utf8"));
  }, 180_000);

  it("answers the ten questions with data from the simulated weeks", () => {
    expect(pack.unavailable).toEqual([]);
    expect(pack.period).toEqual({ from, to });
    // 1, 2: keys with their cryptoperiods, rotated and verified during the weeks.
    const rotated = pack.keys.filter((k: any) => k.lastRotation !== null && inPeriod(k.lastRotation.at));
    expect(rotated.length).toBeGreaterThan(0);
    for (const k of pack.keys) expect(k.pastCryptoperiod, `${k.instance}/${k.name}`).toBe(false);
    const paySigning = pack.keys.find((k: any) => k.instance === "primary" && k.name === "pay-signing");
    expect(paySigning).toMatchObject({ cryptoperiod: "P150D", lastVerification: { at: expect.any(String) } });
    expect(inPeriod(paySigning.lastVerification.at)).toBe(true);
    // 3, 4: the last night's backup is the recovery point at --to; the retained set spans many days.
    const lastNight = result.log.at(-1)!.backup as { folder: string };
    const primary = pack.backups.find((b: any) => b.hsm === "primary");
    expect(primary.lastVerified.folder).toBe(lastNight.folder);
    expect(primary).toMatchObject({ rpoMet: true });
    expect(primary.rpoNowMs).toBeLessThanOrEqual(6 * HOUR);
    expect(primary.retained.map((r: any) => r.folder).sort()).toEqual(result.retention.actual.filter((f) => f.startsWith("mhsm-primary-")));
    expect(new Set(primary.retained.map((r: any) => r.completedAt.slice(0, 10))).size).toBeGreaterThanOrEqual(9);
    for (const r of primary.retained) expect(inPeriod(r.completedAt), r.folder).toBe(true);
    // 5: every weekly drill, with RTO/RPO against the targets, sealed.
    const drills = result.log.flatMap((n) => (n.drill === undefined ? [] : [n.drill]));
    expect(pack.drills.map((d: any) => d.drillId).sort()).toEqual(drills.map((d) => d.drillId).sort());
    for (const d of pack.drills) {
      expect(d, d.drillId).toMatchObject({ kind: "full", verdict: "passed", rtoMet: true, rpoMet: true, rtoMs: expect.any(Number), rpoMs: expect.any(Number) });
      expect(d.rpoMs).toBeLessThanOrEqual(d.rpoTargetMs);
      expect(inPeriod(d.startedAt), d.drillId).toBe(true);
    }
    // The first weeks' reports are sealed. Later ones may not be: the drill's daily single-key GET budget is counted
    // per day of the activities' clock, which is the machine's, so compressed weeks share one day's budget.
    expect(pack.drills[0]).toMatchObject({ sealed: true, ranBy: stack.identities.drill });
    // 6: role assignments per HSM and vault, with their drift state.
    expect(pack.access.map((a: any) => a.instance).sort()).toEqual(["app", "dr", "primary"]);
    for (const a of pack.access) {
      expect(a.assignments.length, a.instance).toBeGreaterThan(0);
      expect(a.drift, a.instance).toEqual([]);
    }
    // 7: the drills' restores into DR, each with who asked.
    expect(pack.destructiveActions.filter((a: any) => a.operation === "RestoreDrill" && a.target === "dr" && a.requester !== null).length).toBe(drills.length);
    // 8: the altered backup the re-verification caught, with its cause, on that night.
    const tamperDay = result.log[TAMPER_NIGHT]!.at.slice(0, 10);
    expect(pack.failures).toContainEqual(expect.objectContaining({ workflow: "backup", operation: "BackupFailed", cause: expect.stringContaining(`BackupIntegrityFailed`) }));
    const integrity = pack.failures.filter((f: any) => /BackupIntegrityFailed/.test(f.cause));
    expect(integrity.map((f: any) => f.at.slice(0, 10))).toEqual([tamperDay]);
    expect(integrity[0].cause).toContain(result.tampered!.folder);
    // 9: the exposure scan read every record and report of the weeks and found nothing.
    expect(pack.exposureScan).toMatchObject({ result: "clean", findings: [] });
    expect(pack.exposureScan.scanned).toBeGreaterThan(DAYS);
    // 10: retention and the controls, met.
    expect(pack.logRetention.auditRecords.count).toBeGreaterThan(DAYS);
    for (const c of pack.controls) expect(c.status, `${c.framework} ${c.control}: ${c.findings.join("; ")}`).toBe("met");
  });

  it("evidence verify and openssl accept the pack, and refuse it after one byte of evidence.json changes", () => {
    expect(verify(outDir)).toBe(0);
    expect(openssl(outDir)).toBe(0);
    const copy = join(stateDir, "evidence-altered");
    cpSync(outDir, copy, { recursive: true });
    const bytes = readFileSync(join(copy, "evidence.json"));
    const at = Math.floor(bytes.length / 2);
    bytes[at] = bytes[at]! ^ 0x01;
    writeFileSync(join(copy, "evidence.json"), bytes);
    expect(verify(copy)).toBe(1);
    expect(openssl(copy)).toBe(1);
  });
});
