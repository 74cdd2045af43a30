/**
 * Scheduled re-verification on the local stack (runner + emulator + Azurite): one blob of a stored, verified
 * backup is overwritten in Azurite; the re-verification timer re-hashes every backup, marks that one unverified
 * with an authenticated record, raises BackupFailed (errorCode BackupIntegrityFailed) and writes an audit record;
 * `status --check` shows it under attention and exits 1; the next drill restores the older good backup and its
 * report names the rejected folder and why. A backup damaged after its last re-verification is caught by the
 * drill's own pre-restore hash check, with the same fallback.
 * Needs `npx tsc -p tsconfig.json` first (the runner loads dist/functions/*.js, the CLI runs from dist/cli).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { manifestBlobName } from "../../shared/backup/backupManifest";
import { manifestAuthenticator } from "../../shared/backup/manifestAuthenticator";
import { reverificationOf } from "../../shared/backup/listBackupRecords";
import { manifestMetadataKeys } from "../../shared/backup/manifestMetadata";
import type { ReverifyBackupsResult } from "../../shared/backup/orchestrations/reverifyBackups";
import { runCliProcess } from "../support/runCliProcess";
import {
  containers,
  drillOutcome,
  eventArrived,
  postDrill,
  readReport,
  startDrillTestStack,
  subscribeEventSink,
  tamperBackup,
  verifiedBackupOfPrimary,
  whyNotStarted,
  type DrillTestStack,
  type EventSink,
} from "./drillStackSupport";

let t: DrillTestStack;
let backupEvents: EventSink;

beforeAll(async () => {
  t = await startDrillTestStack("reverify-e2e-", { RTO_TARGET: "PT1H", RPO_TARGET: "P1D" });
  backupEvents = await subscribeEventSink(t.stack, "backup-events", ["HsmLifecycle.BackupFailed"]);
}, 180_000);

afterAll(async () => {
  await backupEvents?.close();
  await t?.close();
});

/** Fires the re-verification timer and returns the primary's run output. */
async function reverifyNow(): Promise<ReverifyBackupsResult> {
  const runner = t.stack.runner!;
  const before = new Set(runner.host.list().map((i) => i.instanceId));
  expect(await runner.fireTimer("backupReverifyTimer")).toBe(true);
  const ids = runner.host.list().filter((i) => i.name === "reverifyBackups" && !before.has(i.instanceId)).map((i) => i.instanceId);
  expect(ids).toHaveLength(1);
  const [done] = await runner.waitForTerminal(ids);
  expect(done?.runtimeStatus, done?.output ?? "").toBe("Completed");
  return JSON.parse(done!.output!) as ReverifyBackupsResult;
}

async function metadataOf(folder: string): Promise<Record<string, string>> {
  return (await containers(t.stack).backups.getBlockBlobClient(manifestBlobName(folder)).getProperties()).metadata ?? {};
}

async function drill(): Promise<{ verdict: string; report: Awaited<ReturnType<typeof readReport>> }> {
  const started = await postDrill(t.stack, {});
  expect(started.status, whyNotStarted(t.stack, started)).toBe(202);
  const { runtimeStatus, output } = await drillOutcome(t.stack, started.body.id as string, started.body.statusPath as string);
  expect(runtimeStatus).toBe("Completed");
  return { verdict: output.verdict, report: await readReport(t.stack, output.reportJson) };
}

describe("scheduled re-verification of stored backups", () => {
  let older: string;
  let newer: string;

  it("marks an overwritten backup unverified, raises BackupIntegrityFailed (event + audit) and shows it in status", async () => {
    older = (await verifiedBackupOfPrimary(t.stack)).folder;
    newer = (await verifiedBackupOfPrimary(t.stack)).folder;
    expect(newer > older).toBe(true);
    const victim = await tamperBackup(t.stack, newer);

    const result = await reverifyNow();
    expect(result.passed).toEqual([older]);
    expect(result.failures.map((f) => f.folder)).toEqual([newer]);
    expect(result.failures[0]!.detail).toContain(victim);
    expect(result.failures[0]!.recorded).toMatchObject({ audit: { written: true } });

    // The manifest: verified mark gone, a failed record whose MAC only the app's key makes.
    const auth = manifestAuthenticator(t.stack.settings["BACKUP_MANIFEST_KEY"]!);
    const bad = await metadataOf(newer);
    expect(bad[manifestMetadataKeys.verifiedAt]).toBeUndefined();
    expect(reverificationOf(bad, newer, auth)).toMatchObject({ passed: false });
    expect(reverificationOf(await metadataOf(older), older, auth)).toMatchObject({ passed: true });
    // A storage writer flipping the result to "passed" gets no authentic record.
    expect(reverificationOf({ ...bad, [manifestMetadataKeys.reverifyResult]: "passed" }, newer, auth)).toBeUndefined();

    const event = await eventArrived(backupEvents, (e) => e.data?.errorCode === "BackupIntegrityFailed");
    expect(event.eventType).toBe("HsmLifecycle.BackupFailed");
    expect(event.data.hsmName).toBe("primary");
    expect(event.data.message).toContain(newer);

    const auditBlob = (result.failures[0]!.recorded as { audit: { blob: string } }).audit.blob;
    const audit = JSON.parse((await containers(t.stack).audit.getBlobClient(auditBlob).downloadToBuffer()).toString("utf8"));
    expect(audit).toMatchObject({ outcome: "failed", data: { errorCode: "BackupIntegrityFailed" }, details: { stage: "reverify", folder: newer } });

    const status = await runCliProcess(["status", "--check", "--json", "--settings", t.stack.settingsFile, "--app-url", t.stack.runner!.url]);
    const shown = JSON.parse(status.stdout);
    expect(status.code, status.stderr).toBe(1);
    expect(shown.attention.some((a: string) => a.includes(newer) && a.includes("failed re-verification"))).toBe(true);
    const primary = shown.backups.find((b: { hsm: string }) => b.hsm === "primary");
    expect(primary.lastVerified.folder).toBe(older);
    expect(primary.reverifyFailed).toEqual([{ folder: newer, at: result.failures[0]!.at }]);
    expect(primary.lastReverification).not.toBeNull();
  }, 240_000);

  it("the next drill restores the older good backup and its report names the rejected folder and why", async () => {
    const { verdict, report } = await drill();
    expect(report.backup?.folder).toBe(older);
    expect(report.fallback).toEqual({ restored: older, rejected: [{ folder: newer, reason: expect.stringContaining("last re-verification failed") }] });
    expect(report.warnings?.some((w) => w.includes(`Fell back to the older backup ${older}`) && w.includes(newer))).toBe(true);
    expect(verdict, report.failures.join("; ")).toBe("passed");
  }, 300_000);

  it("a backup damaged after its last re-verification fails the drill's pre-restore hash check and is passed over", async () => {
    const newest = (await verifiedBackupOfPrimary(t.stack)).folder;
    await tamperBackup(t.stack, newest);
    const { verdict, report } = await drill();
    expect(report.backup?.folder).toBe(older);
    expect(report.fallback?.rejected).toEqual([
      { folder: newest, reason: expect.stringContaining("pre-restore hash check failed") },
      { folder: newer, reason: expect.stringContaining("last re-verification failed") },
    ]);
    expect(verdict, report.failures.join("; ")).toBe("passed");
  }, 300_000);
});
