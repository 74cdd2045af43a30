/**
 * A DR HSM initialised with ANOTHER security domain cannot restore the primary's backup. The drill must stop at
 * the HSM's pre-restore check, before anything destructive: DR only backed itself up (the restore rule), no
 * restore was started, its keys are unchanged, and the report and DrillFailed event name the cause.
 *
 * The stack's `dr` shares the primary's domain, so a second emulator serves `drforeign` with its own domain; it
 * shares the stack emulator's CA and token secret so the app's managed identity and TLS trust reach it unchanged.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KeyClient } from "@azure/keyvault-keys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack, type LocalStack } from "../../dev/localStack";
import type { Runner } from "../../runner/index";
import { KeyVaultAccessControlClient } from "../../shared/hsm/keyVaultAccessControlClient";
import { KnownManagedHsmRoleDefinitionIds } from "../../shared/hsm/keyVaultAccessControlClientModels";
import type { TestEmulator } from "../support/emulator";
import { containers, eventArrived, outcomeOn, postDrillTo, readReport, siblingEmulator, startDrillRunner, subscribeEventSink, verifiedBackupOfPrimary, writesIn, type AuditRecord, type EventSink } from "./drillStackSupport";

let stack: LocalStack;
let foreign: TestEmulator;
let runner: Runner;
let sink: EventSink;
let stateDir: string;

async function keysOn(url: string): Promise<string[]> {
  const names: string[] = [];
  for await (const k of new KeyClient(url, stack.adminCredential, stack.clientOptions()).listPropertiesOfKeys()) names.push(k.name);
  return names.sort();
}

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "drill-foreign-"));
  stack = await startLocalStack({ stateDir, azuriteInMemory: true, demoKeys: true });
  foreign = await siblingEmulator(stack, "foreign-emulator", ["drforeign"]);
  const url = foreign.url("drforeign");
  const rbac = new KeyVaultAccessControlClient(url, stack.adminCredential, stack.clientOptions());
  const r = KnownManagedHsmRoleDefinitionIds;
  for (const role of [r.Backup, r.Restore, r.CryptoUser, r.CryptoAuditor]) await rbac.createRoleAssignment("/", randomUUID(), role, stack.identities.drill);
  await new KeyClient(url, stack.adminCredential, stack.clientOptions()).createRsaKey("dr-marker");
  runner = await startDrillRunner(stack, { primary: stack.urls.primary, drforeign: url }, "primary=drforeign");
  sink = await subscribeEventSink(stack, "drill-events", ["HsmLifecycle.DrillFailed", "HsmLifecycle.DrillCompleted"]);
}, 180_000);

afterAll(async () => {
  await sink?.close();
  await runner?.close();
  await foreign?.close();
  await stack?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

describe("a DR HSM with another security domain", () => {
  it("fails at the pre-restore check, before anything destructive", async () => {
    await verifiedBackupOfPrimary(stack);
    const url = foreign.url("drforeign");
    const before = await keysOn(url);
    const since = new Date().toISOString();

    const started = await postDrillTo(runner, { pair: "primary=drforeign" });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const id = started.body.id as string;
    const { runtimeStatus, output } = await outcomeOn(runner, id, started.body.statusPath as string);
    expect(runtimeStatus).toBe("Completed");
    expect(output).toMatchObject({ verdict: "failed", stoppedAt: "preRestoreCheck" });
    expect(output.failures).toHaveLength(1);
    expect(output.failures[0]).toMatch(/^\[SecurityDomainMismatch\] The DR HSM does not share the primary's security domain/);

    // DR only backed itself up; no restore of any kind was started and its keys are as they were.
    const audit = (await foreign.control("drforeign", "GET", `/_emulator/audit?since=${encodeURIComponent(since)}`)).body.value as AuditRecord[];
    expect(writesIn(audit)).toEqual(["BackupCreate"]);
    expect(audit.map((a) => a.operationName)).toContain("PreRestore");
    expect(await keysOn(url)).toEqual(before);

    const report = await readReport(stack, output.reportJson);
    expect(report).toMatchObject({ verdict: "failed", target: { name: "drforeign", url }, targetBackup: { jobId: expect.any(String) }, failures: output.failures });
    expect(report.restore).toBeUndefined();
    const html = (await containers(stack).reports.getBlobClient(output.reportHtml).downloadToBuffer()).toString("utf8");
    expect(html).toContain("[SecurityDomainMismatch]");
    const event = await eventArrived(sink, (e) => e.data?.runId === id);
    expect(event).toMatchObject({ eventType: "HsmLifecycle.DrillFailed", data: { drHsm: "drforeign", errorCode: "SecurityDomainMismatch" } });
  }, 120_000);
});
