/**
 * A drill target that IS the primary: `dr` configured as `https://localhost:<primary's port>` (the settings accept
 * it, the URLs differ as text; the HSM behind it reports itself as "primary"). The drill must be refused before
 * any call that writes — the emulator's audit logs show no write call on either HSM — and the report, the
 * DrillFailed event and the audit record must say why.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack, type LocalStack } from "../../dev/localStack";
import type { Runner } from "../../runner/index";
import { auditOf, containers, eventArrived, outcomeOn, postDrillTo, readReport, startDrillRunner, subscribeEventSink, verifiedBackupOfPrimary, writesIn, type EventSink } from "./drillStackSupport";

let stack: LocalStack;
let runner: Runner;
let sink: EventSink;
let stateDir: string;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "drill-refused-"));
  stack = await startLocalStack({ stateDir, azuriteInMemory: true, demoKeys: true });
  const alias = stack.urls.primary.replace("127.0.0.1", "localhost");
  runner = await startDrillRunner(stack, { primary: stack.urls.primary, dr: alias }, "primary=dr");
  sink = await subscribeEventSink(stack, "drill-events", ["HsmLifecycle.DrillFailed", "HsmLifecycle.DrillCompleted"]);
}, 180_000);

afterAll(async () => {
  await sink?.close();
  await runner?.close();
  await stack?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

describe("a drill whose target is the primary under another name", () => {
  it("is refused before any writing call, with a report, a DrillFailed event and an audit record saying why", async () => {
    await verifiedBackupOfPrimary(stack); // a restorable backup exists: only the interlock stands in the way
    const since = new Date().toISOString();
    const started = await postDrillTo(runner, { pair: "primary=dr" });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const id = started.body.id as string;
    const { runtimeStatus, output } = await outcomeOn(runner, id, started.body.statusPath as string);
    expect(runtimeStatus).toBe("Completed");
    // The refusal is a returned value: the interlock activity ran once, nothing failed, no retry timer waited.
    // (History comes from the runner's durable API: the app's /api/runs/{id} shows none.)
    const statusUri = new URL(`${runner.url}/runtime/webhooks/durabletask/instances/${encodeURIComponent(id)}`);
    statusUri.searchParams.set("showHistory", "true");
    const history = ((await (await fetch(statusUri)).json()) as { historyEvents: Array<{ EventType: string; Name?: string }> }).historyEvents;
    expect(history.filter((e) => e.EventType === "TaskScheduled" && e.Name === "checkDrillSafety")).toHaveLength(1);
    expect(history.filter((e) => e.EventType === "TaskFailed" || e.EventType === "TimerCreated")).toEqual([]);
    expect(history.filter((e) => e.EventType === "TaskScheduled").map((e) => e.Name)).toEqual(["checkDrillSafety", "writeDrillReport", "recordDrillOutcome"]);
    expect(output).toMatchObject({ verdict: "failed", stoppedAt: "interlocks", recorded: { event: "published", audit: true } });
    expect(output.failures).toHaveLength(1);
    expect(output.failures[0]).toMatch(/^\[DrillRefused\] Drill primary → dr refused before any write: the drill target "dr" is the same HSM as primary "primary" \(it reports itself as "primary"/);

    // No write call reached either HSM (the emulator's own audit logs), and the primary's keys are untouched.
    for (const hsm of ["primary", "dr"] as const) expect(writesIn(await auditOf(stack, hsm, since)), hsm).toEqual([]);

    const report = await readReport(stack, output.reportJson);
    expect(report).toMatchObject({ verdict: "failed", checks: [], failures: output.failures });
    expect(report.backup).toBeUndefined();
    expect(report.targetBackup).toBeUndefined();
    expect(report.restore).toBeUndefined();
    const html = (await containers(stack).reports.getBlobClient(output.reportHtml).downloadToBuffer()).toString("utf8");
    expect(html).toContain('data-verdict="failed"');
    expect(html).toContain("[DrillRefused]");

    const event = await eventArrived(sink, (e) => e.data?.runId === id);
    expect(event).toMatchObject({ eventType: "HsmLifecycle.DrillFailed", data: { errorCode: "DrillRefused", stage: "selectBackup" } });
    const auditBlob = `drills/${report.startedAt.slice(0, 10)}/${id.replace(/:/g, "-")}.json`;
    const record = JSON.parse((await containers(stack).audit.getBlobClient(auditBlob).downloadToBuffer()).toString("utf8")) as Record<string, unknown>;
    expect(record).toMatchObject({ verdict: "failed", failures: output.failures, backup: null, restore: null });
  }, 120_000);
});
