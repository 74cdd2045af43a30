/**
 * The operator CLI (`bin/hsm-lifecycle.js`) end to end: the real bin as a child process, against the
 * local stack (Azurite + emulator children, the runner in this process with this app), configured ONLY by the
 * stack's settings file (`--settings`) and authenticating through the emulator's managed-identity endpoint, as
 * it would in Azure. Needs `npm run build` first (dist/cli, dist/functions, dist/emulator).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KeyClient } from "@azure/keyvault-keys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack, type LocalStack } from "../../dev/localStack";
import { EventType } from "../../runner/historyEvents";
import { rotationInstanceId } from "../../shared/rotation/rotationIds";
import { runCliProcess, type CliRun } from "../support/runCliProcess";
import { auditOf, blobSnapshot, READ_OPERATIONS } from "../support/stackSnapshot";

let stack: LocalStack;
let stateDir: string;
const everything: string[] = [];

/**
 * Runs the real CLI asynchronously (the runner lives in this process: a synchronous spawn would block it) with
 * a bare environment, so every setting has to come from --settings.
 */
async function cli(args: string[], options: { withApp?: boolean } = {}): Promise<CliRun> {
  const run = await runCliProcess([...args, "--settings", stack.settingsFile, ...(options.withApp === false || stack.runner === undefined ? [] : ["--app-url", stack.runner.url])]);
  everything.push(run.stdout, run.stderr);
  return run;
}

/** The bin without --settings (usage errors must fail before any setting is read). */
function bare(args: string[]): Promise<CliRun> {
  return runCliProcess(args);
}

function json<T = any>(run: CliRun): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${run.code}):\n${run.stdout}\nstderr:\n${run.stderr}`);
  }
}

async function versionCount(instanceUrl: string, name: string): Promise<number> {
  const client = new KeyClient(instanceUrl, stack.adminCredential, stack.clientOptions());
  let n = 0;
  for await (const _ of client.listPropertiesOfKeyVersions(name)) n++;
  return n;
}

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "cli-e2e-"));
  stack = await startLocalStack({ stateDir, demoKeys: true, azuriteInMemory: true, runner: { clock: "real", scheduleTimers: false, startupTimers: false } });
}, 180_000);

afterAll(async () => {
  await stack?.close();
  if (stateDir !== undefined) rmSync(stateDir, { recursive: true, force: true });
});

describe("hsm-lifecycle usage errors exit 2 with the usage", () => {
  it.each([
    [["status", "--nope"], "Unknown option '--nope'"],
    [["frobnicate"], 'Unknown command "frobnicate"'],
    [[], "No command given"],
    [["backup", "--pair", "primary=dr"], '"backup" does not take --pair'],
    [["drill", "--mode", "partial"], '--mode must be "full" or "selective"'],
    [["drill", "--mode", "selective"], "A selective drill needs --key"],
    [["status", "--credential", "password"], '--credential must be "managed-identity" or "default"'],
    [["report", "--latest", "--drill", "x"], "either --latest or --drill"],
    [["plan", "--at", "yesterday"], "is not an ISO 8601 instant"],
    [["rotate", "--at", "2026-12-01T00:00:00Z"], '"rotate" does not take --at'],
    [["report", "--html"], "--html needs a value (FILE)."],
    // The next flag is not taken for the value (node:util would say "argument is ambiguous").
    [["report", "--html", "--json"], "--html needs a value (FILE)."],
    [["status", "--json=yes"], "--json takes no value."],
    [["status", "--check", "extra"], 'Unexpected argument "extra" after "status"'],
    [["dr", "download", "--out"], "--out needs a value (FILE)."],
  ])("%j", async (args, message) => {
    const run = await bare(args);
    expect(run.code, run.stderr).toBe(2);
    // One line saying what is wrong, one saying where to look.
    const lines = run.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^hsm-lifecycle: /);
    expect(lines[0]).toContain(message);
    expect(lines[1]).toBe('Usage: hsm-lifecycle <command> [options]; "hsm-lifecycle --help" lists every command and option.');
    expect(run.stdout).toBe("");
  });

  it("--help prints the usage on stdout and exits 0", async () => {
    const run = await bare(["--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("Usage: hsm-lifecycle <command>");
  });

  it("an unreadable settings file exits 1 naming the file and the fix", async () => {
    const run = await bare(["status", "--settings", "/nonexistent/local.settings.json"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("[SettingsInvalid] Cannot read the settings file /nonexistent/local.settings.json (ENOENT). Fix:");
  });

  it("missing settings exit 1 naming every missing setting and the fix", async () => {
    const run = await bare(["status"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/\[SettingsInvalid\].*HSMS is missing.*Fix:/);
  });
});

describe("hsm-lifecycle on the seeded local stack", () => {
  it("names that are not configured (or not allowed) for a command are usage errors: exit 2", async () => {
    const rotateDr = await cli(["rotate", "--instance", "dr"]);
    expect(rotateDr.code).toBe(2);
    expect(rotateDr.stderr).toContain('--instance "dr" is a drill target, which is never rotated; use one of primary, app.');
    const backupDr = await cli(["backup", "--hsm", "dr"]);
    expect(backupDr.code).toBe(2);
    expect(backupDr.stderr).toContain('--hsm "dr" is a drill target; the backup workflow backs up primaries only; use one of primary.');
    const backupNope = await cli(["backup", "--hsm", "nope"]);
    expect(backupNope.code).toBe(2);
    expect(backupNope.stderr).toContain('--hsm "nope" is not a configured HSM');
  });

  it("status shows the due demo keys per instance, no verified backup and no drill yet", async () => {
    const run = await cli(["status", "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const s = json(run);
    const due = Object.fromEntries((s.instances as Array<{ name: string; due: Array<{ name: string; reason: string }> }>).map((i) => [i.name, i.due.map((d) => `${d.name}:${d.reason}`).sort()]));
    expect(due).toEqual({
      primary: ["data-wrap:nearExpiry", "pay-signing:nearExpiry", "token-signing:expired"],
      app: ["app-signing:nearExpiry"],
    });
    expect(s.backups).toEqual([expect.objectContaining({ hsm: "primary", count: 0, lastVerified: null, rpoNowMs: null })]);
    expect(s.lastDrill).toBeNull();
    expect(s.errors).toEqual([]);
    expect(s.attention.join(" ")).toContain('run "hsm-lifecycle backup --hsm primary"');

    const table = await cli(["status"]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/primary\s+token-signing\s+expired/);
    expect(table.stdout).toMatch(/app\s+app-signing\s+nearExpiry/);
    expect(table.stdout).not.toContain("archive-encrypt");
  });

  it("status --check exits 1 for an excluded key expiring in 3 days, which status lists as a key nobody rotates", async () => {
    const before = json(await cli(["status", "--json"]));
    expect(before.unrotatable).toEqual([]);
    expect(before.attention.join(" ")).not.toContain("legacy-export");
    // legacy-export is excluded by the demo policy (legacy-*): give it an expiry 3 days out.
    const keys = new KeyClient(stack.urls.primary, stack.adminCredential, stack.clientOptions());
    await keys.updateKeyProperties("legacy-export", { expiresOn: new Date(Date.now() + 3 * 86_400_000) });

    const check = await cli(["status", "--check", "--json"]);
    expect(check.code, check.stderr).toBe(1);
    const s = json(check);
    expect(s.errors).toEqual([]);
    expect(s.unrotatable).toEqual([
      { instance: "primary", key: "legacy-export", reason: "excluded", notice: "P7D", manualAction: expect.stringMatching(/^Not rotated: excluded by the rotation policy \(legacy consumers pin versions.*\)\. Fix: rotate it by hand/) },
    ]);
    expect(s.attention).toContainEqual(expect.stringMatching(/^primary\/legacy-export: Not rotated: excluded .* \(expires within P7D\)$/));
    // Without --check, findings are listed and the exit code stays 0; the table names the key.
    const table = await cli(["status"]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/Keys nobody rotates \(a person must act\)\n\s+INSTANCE\s+KEY\s+WHY\s+NOTICE\n\s+primary\s+legacy-export\s+excluded\s+P7D/);
  });

  it("plan explains every decision and changes nothing (audit shows reads only, blobs unchanged)", async () => {
    const instances = [stack.urls.primary, stack.urls.dr, stack.urls.vault];
    const auditBefore = await Promise.all(instances.map((u) => auditOf(stack, u)));
    const blobsBefore = await blobSnapshot(stack);

    const run = await cli(["plan", "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const plan = json(run);
    const primary = plan.rotation.instances.find((i: { name: string }) => i.name === "primary");
    expect(primary.rotate.map((r: { key: string }) => r.key).sort()).toEqual(["data-wrap", "pay-signing", "token-signing"]);
    expect(primary.notify.find((n: { key: string }) => n.key === "token-signing")?.stage).toBe("expired");
    expect(primary.skip).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ key: "legacy-export", reason: "excluded" }),
        expect.objectContaining({ key: "archive-encrypt", reason: "notDue", nextDueOn: expect.any(String) }),
      ]),
    );
    expect(plan.retention).toEqual([{ hsm: "primary", plan: expect.objectContaining({ keep: [], delete: [] }) }]);
    expect(plan.drills).toEqual([expect.objectContaining({ pair: "primary=dr", safe: true, refusals: [], backup: null, noBackupReason: expect.stringContaining("No verified backup") })]);
    const human = await cli(["plan"]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/legacy-export\s+skip\s+excluded/);
    expect(human.stdout).toContain("primary=dr: interlocks pass");

    const auditAfter = await Promise.all(instances.map((u) => auditOf(stack, u)));
    const newRecords = auditAfter.flatMap((after, i) => after.slice(auditBefore[i]?.length ?? 0));
    expect(newRecords.filter((r) => r.operationName === "KeyList").length).toBeGreaterThanOrEqual(2); // plan did read
    expect(newRecords.filter((r) => !READ_OPERATIONS.has(r.operationName)).map((r) => r.operationName)).toEqual([]);
    expect(await blobSnapshot(stack)).toEqual(blobsBefore);
  });

  it("report before any drill exits 1 and says how to get one", async () => {
    const run = await cli(["report", "--latest"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('run "hsm-lifecycle drill" first');
  });

  it("rotate --dry-run starts nothing; rotate --key rotates that key only and exits 0; again it is not due", async () => {
    const before = { pay: await versionCount(stack.urls.primary, "pay-signing"), wrap: await versionCount(stack.urls.primary, "data-wrap") };
    const dry = await cli(["rotate", "--instance", "primary", "--key", "pay-signing", "--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/would rotate primary\/pay-signing \(nearExpiry, rule hsm-payment-keys\)/);
    expect(await versionCount(stack.urls.primary, "pay-signing")).toBe(before.pay);

    const run = await cli(["rotate", "--instance", "primary", "--key", "pay-signing"]);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toMatch(/primary\/pay-signing: rotated \S+ → \S+/);
    expect(run.stderr).toMatch(/rotate:[^ ]+:pay-signing:[0-9a-f]+: started/);
    expect(await versionCount(stack.urls.primary, "pay-signing")).toBe(before.pay + 1);
    expect(await versionCount(stack.urls.primary, "data-wrap")).toBe(before.wrap);

    const again = await cli(["rotate", "--instance", "primary", "--key", "pay-signing"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("primary/pay-signing is not due for rotation: notDue");
    expect(await versionCount(stack.urls.primary, "pay-signing")).toBe(before.pay + 1);
  });

  it("rotate (a manual sweep) rotates every remaining due key and exits 0; status then shows nothing due", async () => {
    const run = await cli(["rotate", "--json"]);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const out = json(run);
    expect(out.runtimeStatus).toBe("Completed");
    expect(out.output.outcomes).toEqual({ rotated: 3 });
    expect(out.output.failures).toEqual([]);
    expect(run.stderr).toMatch(/sweep:manual:\d{8}T\d{6}\.\d{3}Z: started/);

    const status = json(await cli(["status", "--json"]));
    for (const i of status.instances) expect(i.due, i.name).toEqual([]);
    // The sweep announced legacy-export, which nobody rotates: its KeyNearExpiry reached the app's remediation
    // trigger through the lifecycle topic, whose rotation decided "excluded" and changed nothing.
    const runner = stack.runner!;
    const legacy = await new KeyClient(stack.urls.primary, stack.adminCredential, stack.clientOptions()).getKey("legacy-export");
    const id = rotationInstanceId({ vaultUrl: stack.urls.primary, name: "legacy-export", version: legacy.properties.version ?? "" });
    const deadline = Date.now() + 30_000;
    while (!["Completed", "Failed"].includes(runner.host.get(id)?.runtimeStatus ?? "") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(runner.host.get(id)?.runtimeStatus, "no rotation was started from legacy-export's notice").toBe("Completed");
    expect(JSON.parse(String(runner.host.get(id)?.output))).toMatchObject({ kind: "skipped", name: "legacy-export", reason: expect.stringContaining("policy: excluded") });
    expect(await versionCount(stack.urls.primary, "legacy-export")).toBe(1);
  });

  it("backup starts hsmBackup on the runner, shows progress and exits 0 once verified; status then shows RPO now", async () => {
    const run = await cli(["backup", "--hsm", "primary", "--json"], {});
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const out = json(run);
    expect(out.backups).toEqual([expect.objectContaining({ runtimeStatus: "Completed", ok: true, output: expect.objectContaining({ kind: "completed", hsmName: "primary" }) })]);
    expect(run.stderr).toMatch(/backup:primary:\d{4}-\d{2}-\d{2}: started/);
    expect(stack.runner?.host.get(out.backups[0].instanceId)?.runtimeStatus).toBe("Completed");

    const status = json(await cli(["status", "--json"]));
    const b = status.backups[0];
    expect(b.lastVerified.folder).toBe(out.backups[0].output.folder);
    expect(b.rpoNowMs).toBeGreaterThanOrEqual(0);
    expect(b.rpoNowMs).toBeLessThan(10 * 60_000);
    expect(b.rpoMet).toBe(true);
  });

  it("plan after the backup: retention keeps it (and says why), the drill would restore it with the RPO it implies", async () => {
    const newest = json(await cli(["status", "--json"])).backups[0].lastVerified.folder as string;
    const run = await cli(["plan", "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const plan = json(run);
    expect(plan.retention[0].plan.delete).toEqual([]);
    expect(plan.retention[0].plan.keep).toEqual([expect.objectContaining({ folder: newest, reasons: expect.arrayContaining(["newest verified backup"]) })]);
    expect(plan.drills[0]).toMatchObject({ pair: "primary=dr", safe: true, backup: { folder: newest, keyCount: 5 }, rpoMet: true });
    expect(plan.drills[0].rpoIfRunNowMs).toBeGreaterThanOrEqual(0);
    const human = await cli(["plan"]);
    expect(human.stdout).toContain(`would restore ${newest} (5 keys`);
    expect(human.stdout).toMatch(/RPO if run now: .* \(target 1d 2h 0m 0s: met\)/);
  });

  // After the backup (and no key change since): the drill restores it into DR and must pass.
  it("a drill that fails (selective restore of a key the backup does not hold) exits 1 and prints why", async () => {
    const run = await cli(["drill", "--mode", "selective", "--key", "no-such-key", "--json"]);
    const out = json(run);
    expect(out.runtimeStatus).toBe("Completed");
    expect(out.output.verdict).toBe("failed");
    expect(out.output.failures.length).toBeGreaterThan(0);
    expect(run.code).toBe(1);
    // A key missing from the backup is an expected outcome: the selective restore started once (the job failed,
    // reported as a value by getRestoreStatus), no activity failed and so no durable retry delayed the report.
    const history = stack.runner?.host.get(out.drillId)?.history ?? [];
    expect(history.filter((e) => e.EventType === EventType.TaskScheduled && e.Name === "startSelectiveRestore")).toHaveLength(1);
    expect(history.filter((e) => e.EventType === EventType.TaskFailed)).toEqual([]);
    expect(out.output.failures.join(" ")).toContain("no-such-key");
    const check = await cli(["status", "--check", "--json"]);
    expect(check.code, check.stderr).toBe(1);
    expect(json(check).attention).toContain(`the last drill ${out.drillId} failed. Fix: see "hsm-lifecycle report --latest".`);
    const asJson = await cli(["report", "--drill", out.drillId, "--json"]);
    expect(asJson.code).toBe(1);
    expect(json(asJson)).toMatchObject({ drillId: out.drillId, kind: "selective", verdict: "failed" });
    // Readable by default: the verdict, the objectives against their targets (from the settings when the drill
    // did not measure them), what failed.
    const human = await cli(["report", "--drill", out.drillId]);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain(`Drill ${out.drillId}: FAILED`);
    expect(human.stdout).toMatch(/RTO .*\(target 4h 0m 0s.*; RPO .*\(target 1d 2h 0m 0s/);
    expect(human.stdout).toMatch(/\nFailures\n {2}- .*no-such-key/);
    expect(human.stdout).toMatch(/\nFull report: \S+\/drill-reports\/\S+report\.json/);
  }, 120_000);

  it("drill starts through POST /api/drills, follows it to a passed verdict with RTO and RPO and exits 0; report and status show it", async () => {
    const run = await cli(["drill", "--pair", "primary=dr", "--json"]);
    const out = json(run);
    expect(out.drillId).toMatch(/^drill:primary:dr:full:\d{8}T\d{6}\.\d{3}Z$/);
    expect(out.runtimeStatus).toBe("Completed");
    expect(run.stderr).toContain(`${out.drillId}: started`);
    expect(out.output.failures).toEqual([]);
    expect(out.output).toMatchObject({ verdict: "passed", rtoMs: expect.any(Number), rpoMs: expect.any(Number) });
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    // The restore gave DR the primary's role assignments; the DR steward put the drill's DR-only role back, so the
    // next drill can run and nothing warns.
    expect(out.output.warnings ?? []).toEqual([]);

    const html = join(stateDir, "drill.html");
    const report = await cli(["report", "--drill", out.drillId, "--html", html, "--json"]);
    expect(report.code, report.stderr).toBe(0);
    const summary = json(report);
    expect(summary).toMatchObject({ drillId: out.drillId, verdict: "passed", primary: "primary", target: "dr", rtoMs: out.output.rtoMs, rpoMs: out.output.rpoMs, failures: [] });
    expect(summary.warnings ?? []).toEqual([]);
    expect(summary.checks.length).toBeGreaterThan(0);
    expect(summary.checks.every((c: { passed: boolean }) => c.passed)).toBe(true);
    expect(existsSync(html)).toBe(true);
    expect(readFileSync(html, "utf8")).toContain(out.drillId);
    expect(readFileSync(html, "utf8")).not.toMatch(/After this restore the drill identity/);

    const latest = json(await cli(["report", "--json"]));
    expect(latest.drillId).toBe(out.drillId);
    const text = await cli(["report"]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`Drill ${out.drillId}: PASSED`);
    expect(text.stdout).toMatch(/RTO \S.* \(target 4h 0m 0s: met\); RPO \S.* \(target 1d 2h 0m 0s: met\)/);
    expect(text.stdout).toMatch(/\nChecks\n\s+RESULT\s+CHECK\s+DETAIL\n\s+pass\s+\S+/);
    expect(text.stdout).not.toContain("FAIL ");
    const status = json(await cli(["status", "--json"]));
    expect(status.lastDrill).toMatchObject({ drillId: out.drillId, verdict: "passed" });
    expect(status.attention.filter((a: string) => a.includes(out.drillId))).toEqual([]);
  }, 180_000);

  it("a drill pair that is not configured is refused by the app: exit 1 with its reason", async () => {
    const run = await cli(["drill", "--pair", "dr=primary"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/not a configured drill pair/);
  });

  it("an unreachable function app exits 1 naming the URL and the fix", async () => {
    const run = await runCliProcess(["backup", "--settings", stack.settingsFile, "--app-url", "http://127.0.0.1:9"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/\[Unavailable\] The function app at http:\/\/127\.0\.0\.1:9 did not answer.*Fix:/);
  });

  it("never prints a secret from the settings (topic key, identity header, storage account key)", () => {
    const secrets = [stack.settings["LIFECYCLE_TOPIC_KEY"], stack.settings["IDENTITY_HEADER"], /AccountKey=([^;]+)/.exec(stack.storageConnectionString)?.[1]];
    expect(secrets.every((s) => typeof s === "string" && s.length > 8)).toBe(true);
    const printed = everything.join("\n");
    expect(printed.length).toBeGreaterThan(1000);
    for (const s of secrets) expect(printed.includes(s as string)).toBe(false);
  });
});
