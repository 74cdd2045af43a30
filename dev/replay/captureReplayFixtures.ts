/**
 * `npm run replay:capture`: regenerates test/replay/fixtures/*.json from the CURRENT code. It runs the real app on
 * the local stack (emulator + Azurite + runner on a virtual clock, the shipped example rotation policy): a rotation
 * sweep of due HSM keys with a slow HSM_CREATE_RATE (so the second rotation waits for its creation slot), then their
 * retirements, a nightly backup, a full and a selective restore drill, two dual-control requests (one with an
 * approval counted) and an audit record retry. Once everything
 * has run, each fixture is the first prefix of one instance's stored history (cut where an episode ended, exactly
 * what the instance's store held at that moment) that stops at the waiting point the fixture is about; its
 * expectation is what the current code asks for when that prefix is replayed.
 *
 * Only regenerate for an INTENTIONAL change of an orchestrator: the replay test exists to catch unintended ones, and
 * a change that breaks an old fixture breaks the instances in flight when it is deployed (see README).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KeyClient } from "@azure/keyvault-keys";
import { startLocalStack, type LocalStack } from "../localStack";
import { repoRoot } from "../repoRoot";
import { durableClientFor } from "../soak/durableClientFor";
import { EventType, type HistoryEvent } from "../../runner/index";
import { activityNames, orchestrationNames, triggerNames } from "../../shared/names";
import { loadApprovalSettings } from "../../shared/approvals/approvalSettings";
import { DECISION_EVENT, type DecisionEventData, type OperationRequestInput } from "../../shared/approvals/requestTypes";
import { STACK_PEOPLE } from "../stackIdentities";
import type { AuditRecordRetryInput } from "../../shared/auditRetry/auditRetryInput";
import { addDuration, parseIsoDuration } from "../../shared/rotation/isoDuration";
import { loadReplayInvoker, replayFixture, type ReplayFixture, type ReplayResult } from "./replayFixture";

const DAY = 86_400_000;

/** One stored instance as the runner kept it. */
interface Captured {
  instanceId: string;
  name: string;
  executionId: string;
  parentInstanceId: string | null;
  history: HistoryEvent[];
}

interface FixtureSpec {
  file: string;
  title: string;
  orchestrator: string;
  /** Whether a history prefix (and its replay) is the waiting point this fixture pins. */
  at(history: HistoryEvent[], replay: ReplayResult): boolean;
}

const scheduledNames = (history: HistoryEvent[]): string[] => history.filter((e) => e.EventType === EventType.TaskScheduled).map((e) => e.Name ?? "");
const completed = (history: HistoryEvent[], name: string): boolean => {
  const ids = new Set(history.filter((e) => e.EventType === EventType.TaskScheduled && e.Name === name).map((e) => e.EventId));
  return history.some((e) => e.EventType === EventType.TaskCompleted && ids.has(e.TaskScheduledId ?? -1));
};
const waitsOnTimer = (r: ReplayResult): boolean => r.observed.pending.some((p) => p.kind === "timer");
const waitsOnSub = (r: ReplayResult): boolean => r.observed.pending.some((p) => p.kind === "subOrchestration");

/** A drill polling its restore job on DR (the longest wait of a drill). */
function midRestore(orchestrator: string, title: string): FixtureSpec {
  return { file: `${orchestrator}-mid-restore`, title, orchestrator, at: (h, r) => waitsOnTimer(r) && scheduledNames(h).includes(activityNames.getRestoreStatus) };
}

const specs: FixtureSpec[] = [
  {
    file: "rotateKey-create-slot-timer",
    title: "waiting on its creation-slot timer (HSM_CREATE_RATE)",
    orchestrator: orchestrationNames.rotateKey,
    at: (h, r) => waitsOnTimer(r) && completed(h, activityNames.reserveCreateSlot),
  },
  {
    file: "rotateKey-after-verify",
    title: "verified, its outcome being recorded",
    orchestrator: orchestrationNames.rotateKey,
    at: (h, r) => completed(h, activityNames.verifyKeyVersion) && r.observed.pending.length > 0,
  },
  {
    file: "rotationBatch-waiting-rotations",
    title: "waiting for its per-key rotations",
    orchestrator: orchestrationNames.rotationBatch,
    at: (_h, r) => waitsOnSub(r),
  },
  {
    file: "retireVersions-grace-timer",
    title: "waiting out the grace period",
    orchestrator: orchestrationNames.retireVersions,
    at: (_h, r) => waitsOnTimer(r),
  },
  {
    file: "retireVersions-chained-grace-timer",
    title: "on the second six-day leg of a grace period longer than one timer",
    orchestrator: orchestrationNames.retireVersions,
    at: (h, r) => waitsOnTimer(r) && h.some((e) => e.EventType === EventType.TimerFired),
  },
  {
    file: "hsmBackup-mid-poll",
    title: "polling the HSM's backup job",
    orchestrator: orchestrationNames.hsmBackup,
    at: (h, r) => waitsOnTimer(r) && scheduledNames(h).includes(activityNames.getBackupStatus),
  },
  {
    file: "exclusiveRun-holding-backup",
    title: "holding the HSM's lock while its backup runs",
    orchestrator: orchestrationNames.exclusiveRun,
    at: (_h, r) => waitsOnSub(r),
  },
  midRestore(orchestrationNames.restoreDrill, "polling the DR HSM's restore job"),
  midRestore(orchestrationNames.selectiveRestoreDrill, "polling the DR HSM's selective restore job"),
  {
    file: "operationRequest-waiting-decision",
    title: "waiting for an approval decision",
    orchestrator: orchestrationNames.operationRequest,
    at: (_h, r) => r.observed.pending.some((p) => p.kind === "externalEvent" && p.name === DECISION_EVENT),
  },
  {
    file: "operationRequest-one-of-two-approvals",
    title: "one approval counted, waiting for the second",
    orchestrator: orchestrationNames.operationRequest,
    at: (h, r) => h.some((e) => e.EventType === EventType.EventRaised) && r.observed.pending.some((p) => p.kind === "externalEvent" && p.name === DECISION_EVENT),
  },
  {
    file: "auditRecordRetry-timer",
    title: "waiting for its next retry slot",
    orchestrator: orchestrationNames.auditRecordRetry,
    at: (_h, r) => waitsOnTimer(r),
  },
];

async function post(stack: LocalStack, route: string, body: unknown): Promise<string> {
  const res = await fetch(`${stack.runner?.url ?? ""}${route}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const text = await res.text();
  if (res.status !== 202) throw new Error(`POST ${route} answered ${res.status}: ${text}`);
  return text;
}

/** Runs every workflow on the local stack until nothing is left to do, and returns every instance it stored. */
async function runWorkflows(stateDir: string, log: (line: string) => void): Promise<Captured[]> {
  const stack = await startLocalStack({
    stateDir,
    azuriteInMemory: true,
    demoKeys: true,
    runner: { clock: "virtual", port: 0, startupTimers: false, scheduleTimers: false, log: false },
    // One creation per 100 s on the primary: the sweep's second rotation waits on its slot timer.
    settingsOverrides: { HSM_CREATE_RATE: "primary=0.01" },
  });
  try {
    const runner = stack.runner;
    if (runner === undefined) throw new Error("the stack started no runner");
    const hsm = new KeyClient(stack.urls.primary, stack.adminCredential, stack.clientOptions());
    const now = Date.now();
    await hsm.createRsaKey("replay-near-a", { keySize: 2048, keyOps: ["sign", "verify"], expiresOn: new Date(now + 10 * DAY) });
    await hsm.createRsaKey("replay-near-b", { keySize: 2048, keyOps: ["sign", "verify"], expiresOn: new Date(now + 12 * DAY) });

    // First, while the virtual clock still agrees with createdAt/failedAt: both wait days, and later steps move the clock.
    log("dual-control request and audit record retry");
    const client = durableClientFor(runner.durableClientData);
    const approvals = loadApprovalSettings();
    const createdAt = new Date(now);
    const request: OperationRequestInput = {
      request: "req-replay-capture",
      operation: "earlyDisable",
      instance: { name: "primary", kind: "managedHsm" },
      key: "replay-near-a",
      version: "0123456789abcdef0123456789abcdef",
      reason: "replay-compatibility fixture",
      ticket: "CHG-0001",
      requester: STACK_PEOPLE.operator,
      required: 1,
      approverList: approvals.approvers,
      createdAt: createdAt.toISOString(),
      expiresAt: addDuration(createdAt, parseIsoDuration("P2D")).toISOString(),
      compromiseGrace: approvals.compromiseGrace,
    };
    await client.startNew(orchestrationNames.operationRequest, { instanceId: request.request, input: request });
    // A second request needing two approvals gets one: its history then holds a counted decision.
    const two: OperationRequestInput = { ...request, request: `${request.request}-two`, required: 2 };
    await client.startNew(orchestrationNames.operationRequest, { instanceId: two.request, input: two });
    await runner.host.waitForIdle(() => true);
    const [approver] = STACK_PEOPLE.approvers;
    const decision: DecisionEventData = { principal: { oid: approver, groups: [] }, action: "approve", at: createdAt.toISOString() };
    await client.raiseEvent(two.request, DECISION_EVENT, decision);
    await runner.host.waitForIdle(() => true);
    const retry: AuditRecordRetryInput = {
      workload: "backup",
      blobName: "backup/primary/replay-capture/record-failed.json",
      record: { schema: "hsm-lifecycle/audit/backup", outcome: "failed", data: { runId: "replay-capture" } },
      failedAt: createdAt.toISOString(),
      error: "[StorageUnreachable] replay-compatibility fixture",
    };
    await client.startNew(orchestrationNames.auditRecordRetry, { instanceId: "audit-retry:replay-capture", input: retry });

    log("rotation sweep and retirements");
    if (!(await runner.fireTimer(triggerNames.rotationSweepTimer))) throw new Error("the rotation sweep timer did not fire");
    await runner.waitForIdle();

    log("nightly backup");
    if (!(await runner.fireTimer(triggerNames.backupTimer))) throw new Error("the backup timer did not fire");
    await runner.waitForIdle();

    log("restore drills (full, then selective)");
    await post(stack, "/api/drills", { pair: "primary=dr" });
    await runner.waitForIdle();
    await post(stack, "/api/drills", { pair: { primary: "primary", target: "dr" }, mode: "selective", keyName: "pay-signing" });
    await runner.waitForIdle();

    const out: Captured[] = [];
    for (const status of runner.host.list()) {
      const rec = runner.host.get(status.instanceId);
      if (rec === undefined) continue;
      out.push({ instanceId: rec.instanceId, name: rec.name, executionId: rec.executionId, parentInstanceId: rec.parent?.instanceId ?? null, history: rec.history });
    }
    return out.sort((a, b) => a.instanceId.localeCompare(b.instanceId));
  } finally {
    await stack.close();
  }
}

/** The first episode boundary of one of `instances` where `spec` holds, as a fixture. */
async function cut(invoker: Awaited<ReturnType<typeof loadReplayInvoker>>, spec: FixtureSpec, instances: Captured[], commit: string): Promise<ReplayFixture | undefined> {
  for (const inst of instances.filter((i) => i.name === spec.orchestrator)) {
    for (let end = 0; end < inst.history.length; end++) {
      if (inst.history[end]?.EventType !== EventType.OrchestratorCompleted) continue;
      const history = inst.history.slice(0, end + 1).map((e) => ({ ...e, IsPlayed: true }));
      const base = { orchestrator: inst.name, instanceId: inst.instanceId, executionId: inst.executionId, parentInstanceId: inst.parentInstanceId, history };
      const replay = await replayFixture(invoker, base);
      if (replay.problem !== undefined || replay.newWork !== 0 || !spec.at(history, replay)) continue;
      return { title: spec.title, ...base, capturedFrom: commit, expected: replay.observed };
    }
  }
  return undefined;
}

async function main(): Promise<void> {
  const root = repoRoot();
  const log = (line: string): void => void process.stderr.write(`replay:capture ${line}\n`);
  const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
  const stateDir = mkdtempSync(join(tmpdir(), "replay-capture-"));
  let instances: Captured[];
  try {
    instances = await runWorkflows(stateDir, log);
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
  const invoker = await loadReplayInvoker(root);
  const dir = join(root, "test", "replay", "fixtures");
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) if (f.endsWith(".json")) rmSync(join(dir, f));
  const missing: string[] = [];
  for (const spec of specs) {
    const fixture = await cut(invoker, spec, instances, commit);
    if (fixture === undefined) {
      missing.push(`${spec.file} (${spec.orchestrator}: ${spec.title})`);
      continue;
    }
    writeFileSync(join(dir, `${spec.file}.json`), `${JSON.stringify(fixture, null, 2)}\n`);
    log(`wrote ${spec.file}.json (${fixture.instanceId}, ${fixture.history.length} events)`);
  }
  if (missing.length > 0) {
    const seen = [...new Set(instances.map((i) => i.name))].join(", ");
    throw new Error(`No waiting point found for: ${missing.join("; ")}. Instances that ran: ${seen}. Check the capture scenario in dev/replay/captureReplayFixtures.ts.`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`replay:capture failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
