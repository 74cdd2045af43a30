/**
 * The evidence pack on the local stack, through the real CLI (`bin/hsm-lifecycle.js`): backups, a rotation sweep and
 * restore drills run by the app, then `evidence --out DIR` answers the auditor's ten questions from what they left
 * (README "Evidence for auditors"), sealed by the HSM key `evidence-signing`; `evidence verify` and
 * `openssl dgst -sha256 -verify` accept the pack and refuse it once any byte of it changes. Build first (dist/).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KeyClient } from "@azure/keyvault-keys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack, type LocalStack } from "../../dev/localStack";
import { EVIDENCE_KEY_NAME } from "../../shared/evidence/evidenceSigner";
import { readLocalRows } from "../../shared/lifecycleLog/lifecycleRowSink";
import { runCliOn } from "../support/cliRunner";
import type { CliRun } from "../support/runCliProcess";
import { containers } from "./drillStackSupport";

let stack: LocalStack;
let stateDir: string;
let outDir: string;
let pack: any;

const cli = (args: string[]): Promise<CliRun> => runCliOn(stack, args);
const openssl = (dir: string): { code: number; out: string } => {
  const r = spawnSync("openssl", ["dgst", "-sha256", "-verify", join(dir, "signing-key.pem"), "-signature", join(dir, "evidence.sig"), join(dir, "evidence.json")], { encoding: "utf8" });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
};

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "evidence-"));
  outDir = join(stateDir, "pack");
  stack = await startLocalStack({ stateDir, demoKeys: true, azuriteInMemory: true, operatorManagedIdentity: true, runner: { clock: "real", scheduleTimers: false, startupTimers: false } });
  // An HSM Crypto Officer (the operator) creates the signing key once; the app's identities only sign with it.
  await new KeyClient(stack.urls.primary, stack.adminCredential, stack.clientOptions()).createEcKey(EVIDENCE_KEY_NAME, { curve: "P-256", keyOps: ["sign", "verify"], hsm: true });
  const steps: Array<[string, string[]]> = [
    ["backup", ["backup", "--hsm", "primary", "--json"]],
    ["rotate", ["rotate", "--json"]],
    ["backup", ["backup", "--hsm", "primary", "--json"]],
    ["drill", ["drill", "--pair", "primary=dr", "--json"]],
  ];
  for (const [what, args] of steps) {
    const run = await cli(args);
    expect(run.code, `${what}: ${run.stdout}\n${run.stderr}`).toBe(0);
  }
  // A drill that fails (the key is in no backup): a failure with its cause, for question 8.
  await cli(["drill", "--pair", "primary=dr", "--mode", "selective", "--key", "no-such-key", "--json"]);
  const run = await cli(["evidence", "--out", outDir]);
  expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
  pack = JSON.parse(readFileSync(join(outDir, "evidence.json"), "utf8"));
}, 600_000);

afterAll(async () => {
  await stack?.close();
  if (stateDir !== undefined) rmSync(stateDir, { recursive: true, force: true });
});

describe("hsm-lifecycle evidence", () => {
  it("answers the ten questions with data", () => {
    expect(Object.keys(pack)).toEqual(expect.arrayContaining(["keys", "backups", "drills", "access", "destructiveActions", "failures", "exposureScan", "logRetention", "controls"]));
    expect(pack.unavailable).toEqual([]);
    // 1, 2: every key, its cryptoperiod, last rotation and verification.
    const key = (name: string): any => pack.keys.find((k: any) => k.instance === "primary" && k.name === name);
    expect(key("pay-signing")).toMatchObject({ rule: "hsm-payment-keys", cryptoperiod: "P150D", pastCryptoperiod: false, lastRotation: { version: expect.any(String), runId: expect.any(String) }, lastVerification: { at: expect.any(String) } });
    expect(key("token-signing").lastRotation).not.toBeNull();
    expect(key("archive-encrypt")).toMatchObject({ rule: "hsm-default", cryptoperiod: "P365D", lastRotation: null });
    expect(key("legacy-export")).toMatchObject({ rule: "excluded", cryptoperiod: null });
    expect(pack.keys.some((k: any) => k.instance === "app")).toBe(true);
    // 3, 4: last verified backup per HSM, every retained backup with its location.
    const primary = pack.backups.find((b: any) => b.hsm === "primary");
    expect(primary.lastVerified).toMatchObject({ folder: expect.stringMatching(/^mhsm-primary-/) });
    expect(primary.rpoMet).toBe(true);
    expect(primary.retained.length).toBeGreaterThanOrEqual(1);
    for (const r of primary.retained) expect(r.location).toMatch(new RegExp(`/${r.folder}$`));
    // 5: drills with RTO/RPO against their targets, and who ran them.
    const passed = pack.drills.find((d: any) => d.verdict === "passed");
    expect(passed).toMatchObject({ kind: "full", rtoMet: true, rpoMet: true, ranBy: stack.identities.drill, sealed: true });
    expect(passed.rtoTargetMs).toBeGreaterThan(0);
    // 6: role assignments per HSM and vault, with drift.
    expect(pack.access.map((a: any) => a.instance).sort()).toEqual(["app", "dr", "primary"]);
    for (const a of pack.access) expect(a.drift, a.instance).toEqual([]);
    expect(pack.access.find((a: any) => a.instance === "primary").assignments).toContainEqual(expect.objectContaining({ principalId: stack.identities.rotation, role: "HSM Lifecycle Rotation", scope: "/keys" }));
    // 7: destructive actions (the drills' restores into DR) with who asked.
    expect(pack.destructiveActions).toContainEqual(expect.objectContaining({ operation: "RestoreDrill", instance: "primary", target: "dr", requester: stack.identities.drill }));
    // 8: failures with their causes.
    expect(pack.failures).toContainEqual(expect.objectContaining({ workflow: "drill", cause: expect.stringMatching(/\S/) }));
    // 9: the exposure scan ran over records and reports and found nothing.
    expect(pack.exposureScan).toMatchObject({ result: "clean", findings: [] });
    expect(pack.exposureScan.scanned).toBeGreaterThan(5);
    // 10: retention, and the controls each answer maps to.
    expect(pack.logRetention.lifecycleRows).toMatchObject({ table: "HsmLifecycle_CL", interactiveRetentionDays: 365 });
    expect(pack.logRetention.auditRecords.count).toBeGreaterThan(0);
    expect(pack.controls.map((c: any) => c.framework)).toEqual(expect.arrayContaining(["PCI DSS v4.0", "NIST SP 800-57 Part 1 Rev. 5", "RBI IT Governance Direction 2023"]));
    expect(pack.controls.find((c: any) => c.control === "3.7.4").status).toBe("met");
    const html = readFileSync(join(outDir, "evidence.html"), "utf8");
    expect(html).toContain('data-result="clean"');
    expect(html).not.toMatch(/<script/i);
  });

  it("every audit record of the run is also a HsmLifecycle_CL row, with no secrets", async () => {
    const rows = await readLocalRows(containers(stack).audit);
    const ops = new Set(rows.map((r) => r.Operation));
    for (const op of ["KeyRotated", "BackupCompleted", "RestoreDrill"]) expect(ops, op).toContain(op);
    expect(rows.find((r) => r.Operation === "BackupCompleted" && r.Verified)).toMatchObject({ Instance: "primary", FolderName: expect.stringMatching(/^mhsm-primary-/), JobId: expect.any(String), IdentityObjectId: stack.identities.backup });
    expect(rows.find((r) => r.Operation === "KeyRotated")).toMatchObject({ Instance: "primary", KeyName: expect.any(String), KeyVersion: expect.any(String), IdentityObjectId: stack.identities.rotation });
    expect(rows.find((r) => r.Operation === "RestoreDrill" && r.Outcome === "Succeeded")).toMatchObject({ Instance: "primary", TargetInstance: "dr", IdentityObjectId: stack.identities.drill, RtoMs: expect.any(Number), RtoTargetMs: expect.any(Number) });
    expect(JSON.stringify(rows)).not.toMatch(/sig=|eyJ|PRIVATE KEY/);
  });

  it("evidence verify and openssl accept the pack, and refuse it when any byte changes", () => {
    const ok = spawnSync(process.execPath, [join(__dirname, "../../bin/hsm-lifecycle.js"), "evidence", "verify", outDir], { encoding: "utf8" });
    expect(ok.status, ok.stderr).toBe(0);
    expect(openssl(outDir)).toEqual({ code: 0, out: "Verified OK\n" });
    expect(execFileSync("openssl", ["pkey", "-pubin", "-in", join(outDir, "signing-key.pem"), "-noout", "-text"], { encoding: "utf8" })).toMatch(/P-256|prime256v1/);

    const original = readFileSync(join(outDir, "evidence.json"));
    for (const at of [0, Math.floor(original.length / 2), original.length - 2]) {
      const copy = join(stateDir, `tampered-${at}`);
      cpSync(outDir, copy, { recursive: true });
      const bytes = Buffer.from(original);
      bytes[at] = bytes[at]! ^ 0x01;
      writeFileSync(join(copy, "evidence.json"), bytes);
      const v = spawnSync(process.execPath, [join(__dirname, "../../bin/hsm-lifecycle.js"), "evidence", "verify", copy], { encoding: "utf8" });
      expect(v.status, `byte ${at}`).toBe(1);
      expect(v.stderr).toContain("NOT intact");
      const o = openssl(copy);
      expect(o.code, `openssl, byte ${at}`).toBe(1);
      expect(o.out).toContain("Verification failure");
    }
    for (const file of ["evidence.html", "evidence.sig", "signing-key.pem"]) {
      const copy = join(stateDir, `tampered-${file}`);
      cpSync(outDir, copy, { recursive: true });
      const bytes = readFileSync(join(copy, file));
      const at = file === "signing-key.pem" ? 40 : Math.floor(bytes.length / 2);
      bytes[at] = bytes[at]! ^ 0x01;
      writeFileSync(join(copy, file), bytes);
      const v = spawnSync(process.execPath, [join(__dirname, "../../bin/hsm-lifecycle.js"), "evidence", "verify", copy], { encoding: "utf8" });
      expect(v.status, file).toBe(1);
      if (file !== "evidence.html") expect(openssl(copy).code, `openssl, ${file}`).toBe(1);
    }
  });

  it("the drill report is sealed the same way: openssl verifies report.json with its .sig and PEM", async () => {
    const { reports } = containers(stack);
    const passed = pack.drills.find((d: any) => d.verdict === "passed");
    const base = passed.drillId.replace(/:/g, "-");
    const dir = join(stateDir, "report");
    const report = await reports.getBlobClient(`${base}/report.json`).downloadToBuffer();
    writeFileSync(join(dir + "-report.json"), report);
    writeFileSync(join(dir + "-report.json.sig"), await reports.getBlobClient(`${base}/report.json.sig`).downloadToBuffer());
    writeFileSync(join(dir + "-signing-key.pem"), await reports.getBlobClient(`${base}/signing-key.pem`).downloadToBuffer());
    const r = JSON.parse(report.toString("utf8"));
    expect(r).toMatchObject({ principalId: stack.identities.drill, generatedAt: expect.any(String), manifestDigest: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const manifest = await containers(stack).backups.getBlobClient(`manifests/${r.backup.folder}.json`).downloadToBuffer();
    expect(r.manifestDigest).toBe(createHash("sha256").update(manifest).digest("hex"));
    const verify = (): number => spawnSync("openssl", ["dgst", "-sha256", "-verify", `${dir}-signing-key.pem`, "-signature", `${dir}-report.json.sig`, `${dir}-report.json`], { encoding: "utf8" }).status ?? -1;
    expect(verify()).toBe(0);
    expect(readFileSync(`${dir}-signing-key.pem`, "utf8")).toBe(readFileSync(join(outDir, "signing-key.pem"), "utf8"));
    const tampered = Buffer.from(report);
    tampered[10] = tampered[10]! ^ 0x01;
    writeFileSync(`${dir}-report.json`, tampered);
    expect(verify()).toBe(1);
  });

  it("usage errors exit 2 and change nothing", async () => {
    const noOut = await cli(["evidence"]);
    expect(noOut.code).toBe(2);
    expect(noOut.stderr).toContain("--out DIR");
    const badFrom = await cli(["evidence", "--out", join(stateDir, "x"), "--from", "yesterday"]);
    expect(badFrom.code).toBe(2);
    expect(badFrom.stderr).toContain('--from "yesterday" is not an ISO 8601');
    const before = readFileSync(join(outDir, "evidence.json"));
    const again = await cli(["evidence", "--out", outDir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("an evidence pack is never overwritten");
    expect(readFileSync(join(outDir, "evidence.json"))).toEqual(before);
  });
});
