/**
 * The product's Sentinel rules on HsmLifecycle_CL (sentinel/rules/HsmLifecycle*.yaml) against rows the app really
 * writes: on Azurite, the real audit activities (recordBackupOutcome, recordDrillOutcome, recordRotationOutcome)
 * record one scenario per rule — a verified backup 30 hours old and a failed one, a failed drill with RTO breached,
 * a key version past its cryptoperiod and a key whose rotation failed on two days — and every row goes to the
 * local row store through writeAuditRecord. Each rule's query must read only columns the table has (the rows and
 * the DCR in infra/ alike), and every value it compares a column with must be one the scenario's rows carry.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { ContainerClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { recordBackupOutcome } from "../../shared/backup/activities/audit";
import { recordDrillOutcome } from "../../shared/drill/activities/recordOutcome";
import { buildDrillReport } from "../../shared/drill/drillReport";
import type { LifecyclePublisher } from "../../shared/events/lifecyclePublisher";
import { LIFECYCLE_TABLE, type LifecycleRow } from "../../shared/lifecycleLog/lifecycleRow";
import { readLocalRows } from "../../shared/lifecycleLog/lifecycleRowSink";
import { recordRotationOutcome } from "../../shared/rotation/activities/recordOutcome";
import { startAzurite, type AzuriteBlob } from "../support/azurite";
import { kqlColumnsRead, kqlComparisons, kqlDefinedNames } from "../support/kqlColumns";

const root = resolve(__dirname, "../..");
const rulesDir = join(root, "sentinel", "rules");
const ruleFiles = readdirSync(rulesDir).filter((f) => f.startsWith("HsmLifecycle") && f.endsWith(".yaml")).sort();
const bicepColumns = [...readFileSync(join(root, "infra", "modules", "lifecycleLog.bicep"), "utf8").matchAll(/\{ name: '(\w+)', type: '(\w+)' \}/g)].map((m) => m[1]!);

/** The topic is not what is under test: a publisher that reports the event as not delivered (the record says so). */
const offlineTopic: LifecyclePublisher = { publish: async (r) => ({ kind: "failed", id: r.id ?? "", type: r.type, attempts: 1, error: "topic offline in this test" }) };

let azurite: AzuriteBlob;
let audit: ContainerClient;
let rows: LifecycleRow[];
const now = Date.now();
const hoursAgo = (h: number): Date => new Date(now - h * 3_600_000);
const DRILL_OID = "0b5e0a4b-7d2f-4e61-9a3b-0f6d2c8e1a03";

beforeAll(async () => {
  azurite = await startAzurite();
  const service = azurite.blobServiceClient();
  audit = service.getContainerClient("audit");
  const reports = service.getContainerClient("drill-reports");
  await reports.createIfNotExists();

  // No verified backup in 26 h: the newest verified one is 30 h old, the night's attempt failed.
  const folder = "mhsm-primary-2026120501000000";
  await recordBackupOutcome(
    { outcome: "completed", night: "2026-12-05", data: { hsmName: "primary", jobId: "job-1", folderUrl: `${azurite.containerUrl("backups")}/${folder}`, startedAt: hoursAgo(30.1).toISOString(), completedAt: hoursAgo(30).toISOString(), durationMs: 6000, verified: true, runId: "backup:primary:2026-12-05" }, details: {} },
    { publisher: offlineTopic, auditContainer: audit, now: () => hoursAgo(30) },
  );
  await recordBackupOutcome(
    { outcome: "failed", night: "2026-12-06", data: { hsmName: "primary", jobId: null, errorCode: "MissingRole", message: "backup/start denied", runId: "backup:primary:2026-12-06", failedAt: hoursAgo(2).toISOString() }, details: {} },
    { publisher: offlineTopic, auditContainer: audit, now: () => hoursAgo(2) },
  );

  // A failed drill: RTO breached.
  const drillId = "drill:primary:dr:full:20261206T010000.000Z";
  const report = buildDrillReport({
    drillId,
    kind: "full",
    primary: { name: "primary", url: "https://primary.managedhsm.azure.net" },
    target: { name: "dr", url: "https://dr.managedhsm.azure.net" },
    startedAt: hoursAgo(0.5).toISOString(),
    finishedAt: hoursAgo(0.2).toISOString(),
    checks: [{ name: "inventory", passed: true, detail: "5 keys" }],
    objectives: { rtoMs: 5 * 3_600_000, rtoTargetMs: 4 * 3_600_000, rtoMet: false, rpoMs: 3_600_000, rpoTargetMs: 26 * 3_600_000, rpoMet: true, breaches: ["RTO 5h exceeds the target 4h."] } as never,
    singleKeyGets: 0,
    principalId: DRILL_OID,
  });
  const jsonBlob = `${drillId.replace(/:/g, "-")}/report.json`;
  const text = JSON.stringify(report);
  await reports.getBlockBlobClient(jsonBlob).upload(text, Buffer.byteLength(text));
  await recordDrillOutcome({ drillId, jsonBlob, trigger: "timer" }, { reports, audit, publisher: offlineTopic, now: () => hoursAgo(0.2) });

  // A key version past its cryptoperiod (its expiry passed, no newer rotation) and a key whose rotation failed on two days.
  await recordRotationOutcome(
    { type: "KeyRotated", id: "rotate:primary:pay-signing:v1", time: hoursAgo(100).toISOString(), data: { instance: "primary", instanceKind: "managedHsm", keyName: "pay-signing", keyId: "https://primary.managedhsm.azure.net/keys/pay-signing/v2", newVersion: "v2", previousVersion: "v1", trigger: "schedule", runId: "rotate:primary:pay-signing:v1", rotatedAt: hoursAgo(100).toISOString(), expiresOn: hoursAgo(4).toISOString() } },
    { auditContainer: audit, now: () => hoursAgo(100) },
  );
  for (const h of [50, 26]) {
    await recordRotationOutcome(
      { type: "KeyRotationFailed", id: `rotate:primary:data-wrap:v7:${h}`, time: hoursAgo(h).toISOString(), data: { instance: "primary", instanceKind: "managedHsm", keyName: "data-wrap", currentVersion: "v7", trigger: "schedule", errorCode: "MissingRole", message: "keys/rotate denied", attempts: 3, runId: `rotate:primary:data-wrap:v7:${h}`, failedAt: hoursAgo(h).toISOString() } },
      { auditContainer: audit, now: () => hoursAgo(h) },
    );
  }
  rows = await readLocalRows(audit);
}, 120_000);

afterAll(async () => {
  await azurite?.stop();
});

describe("Sentinel rules on HsmLifecycle_CL", () => {
  it("the three product rules are there, in the Azure-Sentinel analytic rule format", () => {
    expect(ruleFiles).toEqual(["HsmLifecycleDrillFailedOrOverdue.yaml", "HsmLifecycleKeyPastCryptoperiod.yaml", "HsmLifecycleNoVerifiedBackup.yaml"]);
    for (const f of ruleFiles) {
      const rule = parse(readFileSync(join(rulesDir, f), "utf8"));
      expect(rule, f).toMatchObject({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), name: expect.any(String), description: expect.any(String), severity: expect.stringMatching(/^(High|Medium|Low|Informational)$/), kind: "Scheduled", triggerOperator: "gt", triggerThreshold: 0, version: expect.any(String), tactics: expect.any(Array) });
      expect(rule.query, f).toContain(LIFECYCLE_TABLE);
      const period = String(rule.queryPeriod);
      expect(/^\d+d$/.test(period) ? Number.parseInt(period, 10) : 0, `${f}: queryPeriod ${period} (Sentinel looks back 14 days at most)`).toBeLessThanOrEqual(14);
    }
  });

  it("the rows, the DCR stream and the table have the same columns", () => {
    expect(rows).toHaveLength(6);
    expect(bicepColumns.length).toBeGreaterThan(10);
    for (const r of rows) expect(Object.keys(r).sort()).toEqual([...bicepColumns].sort());
  });

  for (const file of ruleFiles) {
    it(`${file}: every column it reads exists and every value it expects is written`, () => {
      const { query } = parse(readFileSync(join(rulesDir, file), "utf8")) as { query: string };
      const defined = kqlDefinedNames(query);
      const identifiers = kqlColumnsRead(query, LIFECYCLE_TABLE);
      expect(identifiers.filter((c) => !bicepColumns.includes(c) && !defined.has(c)), `${file} reads identifiers that are neither columns nor defined in the query`).toEqual([]);
      expect(identifiers.filter((c) => bicepColumns.includes(c)).length).toBeGreaterThan(3);
      const comparisons = kqlComparisons(query).filter((c) => bicepColumns.includes(c.column));
      expect(comparisons.length, file).toBeGreaterThan(0);
      for (const { column, values } of comparisons) {
        const written = new Set(rows.map((r) => String(r[column as keyof LifecycleRow])));
        expect(values.filter((v) => written.has(v)), `${file}: ${column} in (${values.join(", ")}); rows carry ${[...written].join(", ")}`).not.toEqual([]);
      }
    });
  }

  it("each scenario's rows carry what its rule decides on", () => {
    const backup = rows.filter((r) => r.Workflow === "backup");
    expect(backup).toContainEqual(expect.objectContaining({ Operation: "BackupCompleted", Outcome: "Succeeded", Verified: true, Instance: "primary", FolderName: "mhsm-primary-2026120501000000", JobId: "job-1" }));
    expect(Date.parse(backup.find((r) => r.Verified)!.TimeGenerated)).toBeLessThan(now - 26 * 3_600_000);
    expect(backup).toContainEqual(expect.objectContaining({ Operation: "BackupFailed", Outcome: "Failed", Verified: false, Instance: "primary", Reason: "backup/start denied" }));

    const drill = rows.find((r) => r.Workflow === "drill")!;
    expect(drill).toMatchObject({ Operation: "RestoreDrill", Outcome: "Failed", Instance: "primary", TargetInstance: "dr", RunId: "drill:primary:dr:full:20261206T010000.000Z", IdentityObjectId: DRILL_OID, RtoMs: 5 * 3_600_000, RtoTargetMs: 4 * 3_600_000, RpoMs: 3_600_000, RpoTargetMs: 26 * 3_600_000 });
    expect(drill.Reason).toContain("RTO");

    const rotated = rows.find((r) => r.Operation === "KeyRotated")!;
    expect(rotated).toMatchObject({ Workflow: "rotation", Instance: "primary", KeyName: "pay-signing", KeyVersion: "v2", Outcome: "Succeeded", RunId: "rotate:primary:pay-signing:v1" });
    expect(Date.parse(rotated.KeyExpiresOn)).toBeLessThan(now);
    const failed = rows.filter((r) => r.Operation === "KeyRotationFailed");
    expect(failed.map((r) => [r.KeyName, r.Outcome, r.Reason])).toEqual([["data-wrap", "Failed", "keys/rotate denied"], ["data-wrap", "Failed", "keys/rotate denied"]]);
    expect(Math.abs(Date.parse(failed[0]!.TimeGenerated) - Date.parse(failed[1]!.TimeGenerated))).toBeGreaterThanOrEqual(24 * 3_600_000);
  });
});
