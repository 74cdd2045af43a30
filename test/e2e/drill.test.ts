/**
 * Restore drills end to end on the local stack: this app in the runner (virtual clock: durable timers fire at
 * once), the emulator (HSMs primary + dr sharing a security domain, topic, identity endpoint) and Azurite.
 * The app authenticates as the drill's managed identity (least privilege); backups are made by the backup
 * workflow's activities as the backup identity.
 *
 * Order matters, as on a real DR HSM: a full restore replaces DR's role assignments with the primary's, so the
 * drills that need DR's own assignments (tampered backup: nothing restored; selective: one key) run first.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { KeyClient } from "@azure/keyvault-keys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "../../dev/localStack";
import { EventType } from "../../runner/index";
import { KeyVaultAccessControlClient } from "../../shared/hsm/keyVaultAccessControlClient";
import { HSM_DRILL_DR_ROLE } from "../../shared/rbac/lifecycleRoles";
import { renderInChromium } from "./drillChromium";
import {
  auditOf,
  containers,
  drillOutcome,
  emulatorJob,
  eventArrived,
  postDrill,
  readReport,
  startDrillTestStack,
  tamperBackup,
  verifiedBackupOfPrimary,
  whyNotStarted,
  writesIn,
  type DrillTestStack,
  type EventSink,
} from "./drillStackSupport";

let world: DrillTestStack;
let stack: LocalStack;
let sink: EventSink;
let stateDir: string;
const RESTORE_WINDOW_MS = 30 * 60_000;

beforeAll(async () => {
  world = await startDrillTestStack("drill-e2e-", { RTO_TARGET: "PT1H", RPO_TARGET: "P1D" });
  ({ stack, sink, stateDir } = world);
  // Only the stack's own roles (`rbac plan`): a full restore replaces DR's role assignments with the primary's, and
  // the DR steward puts the drill's DR-only role back after each one, so drill after drill runs; the drill identity
  // never holds backup or restore on the primary.
}, 180_000);

afterAll(async () => {
  await world?.close();
});

/** The restore rule on DR: its own full backup (by the drill identity) succeeded within 30 minutes before the restore started. */
async function expectRestoreRuleKept(since: string, restoreOperation: "Restore" | "SelectiveKeyRestore", targetBackupJobId: string, restoreJobId: string): Promise<void> {
  const writes = writesIn(await auditOf(stack, "dr", since));
  expect(writes.indexOf("BackupCreate")).toBeGreaterThanOrEqual(0);
  expect(writes.indexOf("BackupCreate")).toBeLessThan(writes.indexOf(restoreOperation));
  const selfBackup = await emulatorJob(stack, "dr", "backup", targetBackupJobId);
  const restore = await emulatorJob(stack, "dr", "restore", restoreJobId);
  expect(selfBackup.status).toBe("Succeeded");
  expect(selfBackup.endTime! * 1000).toBeLessThanOrEqual(restore.startTime * 1000);
  expect(restore.startTime * 1000 - selfBackup.endTime! * 1000).toBeLessThanOrEqual(RESTORE_WINDOW_MS);
}

describe("restore drill workflow (runner + emulator + Azurite)", () => {
  it("POST /api/drills refuses a bad request with 400 and starts nothing", async () => {
    const before = stack.runner!.startedInstances.size;
    const unknownPair = await postDrill(stack, { pair: "primary=elsewhere" });
    expect(unknownPair.status).toBe(400);
    expect(unknownPair.body.error.message).toMatch(/^\[BadParameter\] .*\(primary → elsewhere\) is not a configured drill pair \(DRILL_PAIRS: primary=dr\)/);
    const noKey = await postDrill(stack, { mode: "selective" });
    expect(noKey.status).toBe(400);
    expect(noKey.body.error.message).toContain('a selective drill needs "keyName"');
    expect((await postDrill(stack, { mode: "fast" })).status).toBe(400);
    expect(stack.runner!.startedInstances.size).toBe(before);
  });

  it("a drill before any verified backup fails at selectBackup at once: the answer is a value, not a retried error", async () => {
    const started = await postDrill(stack, { pair: "primary=dr" });
    expect(started.status, whyNotStarted(stack, started)).toBe(202);
    const id = started.body.id as string;
    const { runtimeStatus, output } = await drillOutcome(stack, id, started.body.statusPath as string);
    expect(runtimeStatus).toBe("Completed");
    expect(output).toMatchObject({ verdict: "failed", stoppedAt: "selectBackup" });
    expect(output.failures).toEqual([expect.stringMatching(/^\[NoVerifiedBackup\] No verified backup of "primary" ended before .*Fix: run the backup workflow/)]);
    // From the runner's own history: each activity ran once, nothing failed and no retry timer was created.
    const history = stack.runner!.host.get(id)!.history;
    expect(history.filter((e) => e.EventType === EventType.TaskScheduled).map((e) => e.Name)).toEqual(["checkDrillSafety", "findLatestVerifiedBackup", "writeDrillReport", "recordDrillOutcome"]);
    expect(history.filter((e) => e.EventType === EventType.TaskFailed || e.EventType === EventType.TimerCreated)).toEqual([]);
  });

  it("timer drill of a tampered backup: the drill's pre-restore hash check refuses it before DR is touched; report and DrillFailed say why", async () => {
    const backup = await verifiedBackupOfPrimary(stack);
    const victim = await tamperBackup(stack, backup.folder);
    const since = new Date().toISOString();

    expect(await stack.runner!.fireTimer("drillTimer")).toBe(true);
    const id = `drill:primary:dr:${new Date().toISOString().slice(0, 10)}`;
    const { runtimeStatus, output } = await drillOutcome(stack, id);
    expect(runtimeStatus).toBe("Completed");
    expect(output).toMatchObject({ drillId: id, kind: "full", verdict: "failed", stoppedAt: "selectBackup", recorded: { event: "published", audit: true } });
    expect(output.failures).toHaveLength(1);
    expect(output.failures[0]).toMatch(/^\[BackupIntegrityFailed\] Every verified backup of "primary" failed its pre-restore hash check/);
    expect(output.failures[0]).toContain(`${backup.folder}: its pre-restore hash check failed`);
    expect(output.failures[0]).toContain(victim);

    const report = await readReport(stack, output.reportJson);
    expect(report).toMatchObject({ verdict: "failed", kind: "full" });
    expect(report.backup).toBeUndefined();
    expect(report.targetBackup).toBeUndefined();
    expect(report.restore).toBeUndefined();
    expect(report.failures).toEqual(output.failures);
    const html = (await containers(stack).reports.getBlobClient(output.reportHtml).downloadToBuffer()).toString("utf8");
    expect(html).toContain('data-verdict="failed"');
    expect(html).toContain("[BackupIntegrityFailed]");

    // Nothing was written to DR: not even its own backup.
    expect(writesIn(await auditOf(stack, "dr", since))).toEqual([]);
    const event = await eventArrived(sink, (e) => e.data?.runId === id);
    expect(event).toMatchObject({ eventType: "HsmLifecycle.DrillFailed", data: { primaryHsm: "primary", drHsm: "dr", stage: "selectBackup", errorCode: "BackupIntegrityFailed" } });

    // The timer is a singleton per pair and day: firing it again starts nothing new.
    const before = stack.runner!.startedInstances.size;
    await stack.runner!.fireTimer("drillTimer");
    await stack.runner!.waitForIdle();
    expect(stack.runner!.startedInstances.size).toBe(before);
  }, 120_000);

  it("selective drill: one key restored into DR, verified and probed across HSMs; DrillCompleted", async () => {
    await verifiedBackupOfPrimary(stack);
    const since = new Date().toISOString();
    const started = await postDrill(stack, { pair: { primary: "primary", target: "dr" }, mode: "selective", keyName: "pay-signing" });
    expect(started.status, whyNotStarted(stack, started)).toBe(202);
    const { runtimeStatus, output } = await drillOutcome(stack, started.body.id as string, started.body.statusPath as string);
    expect(runtimeStatus).toBe("Completed");
    expect(output, JSON.stringify(output.failures)).toMatchObject({ kind: "selective", verdict: "passed", failures: [] });
    const report = await readReport(stack, output.reportJson);
    expect(report.restore).toMatchObject({ status: "Succeeded", keyName: "pay-signing" });
    expect(report.checks.map((c) => [c.name, c.passed])).toEqual([
      ["inventory", true],
      ["rotationPolicies", true],
      ["cryptoProbe:pay-signing", true],
    ]);
    expect(report.keysVerified).toBe(1);
    await expectRestoreRuleKept(since, "SelectiveKeyRestore", report.targetBackup!.jobId, report.restore!.jobId);
    // Only pay-signing arrived on DR.
    const drKeys: string[] = [];
    for await (const k of new KeyClient(stack.urls.dr, stack.adminCredential, stack.clientOptions()).listPropertiesOfKeys()) drKeys.push(k.name);
    expect(drKeys).toEqual(["pay-signing"]);
    const event = await eventArrived(sink, (e) => e.data?.runId === started.body.id);
    expect(event).toMatchObject({ eventType: "HsmLifecycle.DrillCompleted", data: { keysVerified: 1 } });
  }, 120_000);

  it("full drill on demand passes; RTO and RPO agree with the emulator's job timestamps; report, event and audit record written", async () => {
    const backup = await verifiedBackupOfPrimary(stack);
    await stack.runner!.waitForTerminal(); // every earlier drill has ended: a drill still running would be refused with 409
    const since = new Date().toISOString();
    const started = await postDrill(stack, { pair: "primary=dr" });
    expect(started.status, whyNotStarted(stack, started)).toBe(202);
    expect(started.body).toMatchObject({ id: expect.stringMatching(/^drill:primary:dr:full:\d{8}T\d{6}\.\d{3}Z$/), statusPath: expect.stringMatching(/^\/api\/runs\/drill%3Aprimary%3Adr%3Afull%3A\d{8}T\d{6}\.\d{3}Z$/) });
    const id = started.body.id as string;
    const { runtimeStatus, output } = await drillOutcome(stack, id, started.body.statusPath as string);
    expect(runtimeStatus).toBe("Completed");
    expect(output, JSON.stringify(output.failures)).toMatchObject({ drillId: id, kind: "full", verdict: "passed", failures: [], recorded: { event: "published", audit: true } });

    const report = await readReport(stack, output.reportJson);
    expect(report.verdict).toBe("passed");
    expect(report.backup).toMatchObject({ folder: backup.folder, jobId: backup.jobId });
    const names = report.checks.map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(["inventory", "rotationPolicies", "roleAssignments", "cryptoProbe:data-wrap"]));
    // One probe per key family with a usable key: an RSA key and the oct-HSM key (the only EC key has expired).
    expect(names.filter((n) => /^cryptoProbe:(pay-signing|archive-encrypt|legacy-export)$/.test(n))).toHaveLength(1);
    for (const c of report.checks) expect(c.passed, `${c.name}: ${c.detail}`).toBe(true);
    expect(report.singleKeyGets).toBeGreaterThan(0);
    expect(report.singleKeyGets).toBeLessThanOrEqual(25);
    // The DR steward re-applied the drill's DR role after the restore, so the next drill can run: no warning.
    expect(report.warnings).toBeUndefined();
    const drillRoles = async (url: string): Promise<string[]> => {
      const out: string[] = [];
      for await (const a of new KeyVaultAccessControlClient(url, stack.adminCredential, stack.clientOptions()).listRoleAssignments("/")) {
        if (a.properties.principalId === stack.identities.drill) out.push(`${a.properties.scope} ${(a.properties.roleDefinitionId ?? "").split("/").pop()}`);
      }
      return out;
    };
    expect(await drillRoles(stack.urls.dr)).toContain(`/ ${HSM_DRILL_DR_ROLE.name}`);
    expect(await drillRoles(stack.urls.primary)).not.toContain(`/ ${HSM_DRILL_DR_ROLE.name}`);

    // RPO = drill start − the restored backup's end; RTO = restore job start → verification done: the HSM's own timestamps.
    const backupJob = await emulatorJob(stack, "primary", "backup", backup.jobId);
    const restoreJob = await emulatorJob(stack, "dr", "restore", report.restore!.jobId);
    expect(restoreJob.status).toBe("Succeeded");
    expect(report.objectives!.rpoMs).toBe(Date.parse(report.startedAt) - backupJob.endTime! * 1000);
    expect(report.objectives!.rtoMs).toBe(Date.parse(report.finishedAt) - restoreJob.startTime * 1000);
    expect(Date.parse(report.restore!.startTime)).toBe(restoreJob.startTime * 1000);
    expect(report.objectives).toMatchObject({ rtoMet: true, rpoMet: true, rtoTargetMs: 3_600_000, rpoTargetMs: 86_400_000 });
    expect(output.rtoMs).toBe(report.objectives!.rtoMs);
    expect(output.rpoMs).toBe(report.objectives!.rpoMs);
    await expectRestoreRuleKept(since, "Restore", report.targetBackup!.jobId, report.restore!.jobId);
    // The drill never wrote to the primary.
    expect(writesIn(await auditOf(stack, "primary", since)).filter((op) => op !== "BackupCreate")).toEqual([]);

    const event = await eventArrived(sink, (e) => e.data?.runId === id);
    expect(event).toMatchObject({ eventType: "HsmLifecycle.DrillCompleted", data: { primaryHsm: "primary", drHsm: "dr", rtoSeconds: report.objectives!.rtoMs / 1000, rpoSeconds: report.objectives!.rpoMs / 1000, folderUrl: report.backup!.folderUrl } });

    const audit = containers(stack).audit;
    const auditBlob = `drills/${report.startedAt.slice(0, 10)}/${id.replace(/:/g, "-")}.json`;
    const record = JSON.parse((await audit.getBlobClient(auditBlob).downloadToBuffer()).toString("utf8")) as Record<string, any>;
    expect(record).toMatchObject({ workflow: "drill", action: "restoreDrill", trigger: "http", drillId: id, verdict: "passed", rtoMs: report.objectives!.rtoMs, event: { type: "HsmLifecycle.DrillCompleted", outcome: "published" } });

    // The stored HTML page, opened in headless Chromium, shows the verdict, RTO, RPO and the checks.
    const htmlFile = join(stateDir, "report.html");
    writeFileSync(htmlFile, await containers(stack).reports.getBlobClient(output.reportHtml).downloadToBuffer());
    const seen = await renderInChromium(htmlFile);
    expect(seen.verdict).toMatchObject({ attr: "passed", text: "PASSED", visible: true });
    expect(seen.objectives.map((o) => [o.name, o.cells[3]])).toEqual([
      ["rto", "met"],
      ["rpo", "met"],
    ]);
    expect(seen.checks.map((c) => c.name)).toEqual(names);
    expect(seen.checks.every((c) => c.cells[1] === "passed" && c.visible)).toBe(true);
  }, 180_000);

  it("a second drill of the same pair is refused with 409 while one is running (they would collide on DR's admin jobs)", async () => {
    await verifiedBackupOfPrimary(stack);
    // Freeze storage so the first drill stays Running at its backup lookup, deterministically.
    process.kill(stack.azurite.pid, "SIGSTOP");
    let first: { status: number; body: any };
    try {
      first = await postDrill(stack, { pair: "primary=dr" });
      expect(first.status, whyNotStarted(stack, first)).toBe(202);
      const before = stack.runner!.startedInstances.size;
      const second = await postDrill(stack, { pair: "primary=dr", mode: "selective", keyName: "pay-signing" });
      expect(second.status).toBe(409);
      expect(second.body.error).toMatchObject({ code: "Conflict", runningInstanceId: first.body.id });
      expect(second.body.error.message).toMatch(/^\[Conflict\] Drill drill:primary:dr:full:\S+ is still running on dr/);
      expect(stack.runner!.startedInstances.size).toBe(before);
    } finally {
      process.kill(stack.azurite.pid, "SIGCONT");
    }
    const { output } = await drillOutcome(stack, first.body.id as string, first.body.statusPath as string);
    expect(output, JSON.stringify(output.failures)).toMatchObject({ verdict: "passed" });
  }, 180_000);
});
