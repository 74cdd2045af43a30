/**
 * A drill's audit record is not lost when its write keeps failing, and the drill's verdict does not change: with
 * the audit trail's local row store refusing writes (its day blob held under a lease by someone else, as a stuck
 * writer would), `recordDrillOutcome` fails through its durable retries, then its last call hands the record to
 * `auditRecordRetry` (as the drill identity) and the drill completes with its own verdict. While the store stays
 * refused the retry runs its whole schedule and gives up, which the fleet page and `status` (asking the app, exit 1
 * with --check) list under attention; once the
 * lease is gone, a restarted retry completes the record (its row lands). Runner on a virtual clock + emulator +
 * Azurite. Needs `npx tsc -p tsconfig.json` first (the runner loads dist/functions/*.js).
 */
import type { BlobLeaseClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "../../dev/localStack";
import { EventType } from "../../runner/index";
import { durableClientFor } from "../runner/durableClientFor";
import type { AuditRecordRetryInput, AuditRecordRetryOutput } from "../../shared/auditRetry/auditRetryInput";
import { startAuditRecordRetry } from "../../shared/auditRetry/startAuditRecordRetry";
import { LOCAL_ROWS_PREFIX, readLocalRows } from "../../shared/lifecycleLog/lifecycleRowSink";
import { orchestrationNames } from "../../shared/names";
import type { RestoreDrillOutput } from "../../shared/drill/types";
import { runCliProcess } from "../support/runCliProcess";
import { containers, postDrill, startDrillTestStack, whyNotStarted, type DrillTestStack } from "./drillStackSupport";

let world: DrillTestStack;
let stack: LocalStack;
const leases: BlobLeaseClient[] = [];

beforeAll(async () => {
  world = await startDrillTestStack("drill-audit-retry-");
  ({ stack } = world);
}, 180_000);

afterAll(async () => {
  await world?.close();
});

const TERMINAL = new Set(["Completed", "Failed", "Terminated", "Canceled"]);
const terminal = (id: string): boolean => TERMINAL.has(stack.runner!.host.get(id)?.runtimeStatus ?? "Pending");
/** Lets the runner work (the virtual clock jumping from timer to timer) only until `id` has ended. */
async function runUntilEnded(id: string): Promise<void> {
  while (!terminal(id)) {
    await stack.runner!.host.waitForIdle(() => terminal(id));
    if (!terminal(id)) await new Promise((r) => setTimeout(r, 25));
  }
}
const outputOf = <T>(id: string): T => JSON.parse(stack.runner!.host.get(id)!.output!) as T;

/** Holds the row store's blob of today and tomorrow (UTC) under an infinite lease: every append is refused (412). */
async function refuseRowStore(): Promise<void> {
  const audit = containers(stack).audit;
  await audit.createIfNotExists();
  for (const offset of [0, 86_400_000]) {
    const blob = audit.getAppendBlobClient(`${LOCAL_ROWS_PREFIX}${new Date(Date.now() + offset).toISOString().slice(0, 10)}.jsonl`);
    await blob.createIfNotExists();
    const lease = blob.getBlobLeaseClient();
    await lease.acquireLease(-1);
    leases.push(lease);
  }
}

describe("a drill's audit record lost to a failing audit store (auditRecordRetry)", () => {
  let drillId: string;
  let retryId: string;
  let retryInput: AuditRecordRetryInput;

  it("the drill keeps its verdict and hands the record to a retry as the drill identity after its durable retries", async () => {
    await refuseRowStore();
    const started = await postDrill(stack, { pair: "primary=dr" });
    expect(started.status, whyNotStarted(stack, started)).toBe(202);
    drillId = started.body.id as string;
    await runUntilEnded(drillId);

    const drill = stack.runner!.host.get(drillId)!;
    expect(drill.runtimeStatus).toBe("Completed");
    const output = outputOf<RestoreDrillOutput>(drillId);
    expect(output).toMatchObject({ verdict: "failed", stoppedAt: "selectBackup" });
    expect(output.failures).toEqual([expect.stringMatching(/^\[NoVerifiedBackup\]/)]);
    expect(output.recorded).toMatchObject({ event: "published", audit: false, error: expect.stringContaining("LeaseIdMissing"), auditRetry: { kind: "started" } });
    retryId = (output.recorded as { auditRetry: { instanceId: string } }).auditRetry.instanceId;

    // The activity ran with durable retries first; only the last call (no retries of its own) handed the record over.
    const scheduled = drill.history.filter((e) => e.EventType === EventType.TaskScheduled && e.Name === "recordDrillOutcome").map((e) => JSON.parse(String(e.Input)) as { handOff?: boolean });
    expect(scheduled.length).toBeGreaterThan(1);
    expect(scheduled.slice(0, -1).every((i) => i.handOff === undefined)).toBe(true);
    expect(scheduled.at(-1)).toMatchObject({ handOff: true });

    const retry = stack.runner!.host.get(retryId)!;
    expect(retry.name).toBe(orchestrationNames.auditRecordRetry);
    expect(retry.runtimeStatus).toBe("Running");
    expect(retry.customStatus).toMatchObject({ stage: "waiting", attempt: 1 });
    retryInput = JSON.parse(retry.input!) as AuditRecordRetryInput;
    const auditBlob = `drills/${String(retryInput.record["startedAt"]).slice(0, 10)}/${drillId.replace(/:/g, "-")}.json`;
    expect(retryInput).toMatchObject({ workload: "drill", blobName: auditBlob, contentType: "application/json; charset=utf-8", record: { workflow: "drill", drillId, verdict: "failed" } });
    // The record's blob landed on the first try; its lifecycle row did not.
    expect(await containers(stack).audit.getBlobClient(auditBlob).exists()).toBe(true);
    expect((await readLocalRows(containers(stack).audit)).filter((r) => r.RecordId === auditBlob)).toEqual([]);
  }, 240_000);

  it("while the store stays refused the retry gives up after its schedule, and the fleet page lists it under attention", async () => {
    await runUntilEnded(retryId);
    expect(outputOf<AuditRecordRetryOutput>(retryId)).toMatchObject({ kind: "gaveUp", attempts: 10, error: expect.stringContaining("for the drill identity") });
    const res = await fetch(`${stack.runner!.url}/api/fleet?format=json`);
    expect(res.status).toBe(200);
    const fleet = (await res.json()) as { attention: string[] };
    const items = fleet.attention.filter((a) => a.includes(retryInput.blobName));
    expect(items).toEqual([expect.stringMatching(new RegExp(`^audit record ${retryInput.blobName.replace(/[.]/g, "\\.")} is missing: its retry ${retryId} gave up after 10 attempts .*Fix: `))]);
    const html = await (await fetch(`${stack.runner!.url}/api/fleet`)).text();
    expect(html).toContain(`audit record ${retryInput.blobName} is missing`);
    // `status` asks the app for the retries (durable is the app's to read): listed, and --check exits 1.
    const status = await runCliProcess(["status", "--check", "--json", "--settings", stack.settingsFile, "--app-url", stack.runner!.url]);
    expect(status.code, status.stderr).toBe(1);
    expect((JSON.parse(status.stdout) as { attention: string[] }).attention.filter((a) => a.includes(retryInput.blobName))).toEqual(items);
    const listed = (await (await fetch(`${stack.runner!.url}/api/audit-retries`)).json()) as { retries: Array<Record<string, unknown>> };
    expect(listed.retries.find((r) => r["instanceId"] === retryId)).toMatchObject({ blobName: retryInput.blobName, workload: "drill", runtimeStatus: "Completed", output: { kind: "gaveUp", attempts: 10 } });
    expect(JSON.stringify(listed)).not.toContain('"verdict"');
  }, 240_000);

  it("once the store takes writes again, a new failure restarts the retry and it completes the record", async () => {
    for (const lease of leases.splice(0)) await lease.releaseLease();
    const lines: string[] = [];
    const client = durableClientFor(stack.runner!.durableClientData);
    const restarted = await startAuditRecordRetry(client, { workload: "drill", blobName: retryInput.blobName, record: retryInput.record, contentType: "application/json; charset=utf-8" }, new Error("[Unexpected] again"), new Date(), (l) => lines.push(l));
    expect(restarted).toEqual({ kind: "started", instanceId: retryId });
    await runUntilEnded(retryId);
    // The blob was there (same record): the retry counts it done and sends the missing row.
    expect(outputOf<AuditRecordRetryOutput>(retryId)).toEqual({ kind: "unchanged", blobName: retryInput.blobName, attempts: 1 });
    expect((await readLocalRows(containers(stack).audit)).filter((r) => r.RecordId === retryInput.blobName)).toHaveLength(1);
    expect(lines).toEqual([]);
    const fleet = (await (await fetch(`${stack.runner!.url}/api/fleet?format=json`)).json()) as { attention: string[] };
    expect(fleet.attention.filter((a) => a.includes(retryInput.blobName))).toEqual([]);
    const status = await runCliProcess(["status", "--json", "--settings", stack.settingsFile, "--app-url", stack.runner!.url]);
    expect((JSON.parse(status.stdout) as { attention: string[] }).attention.filter((a) => a.includes(retryInput.blobName))).toEqual([]);
  }, 240_000);
});
