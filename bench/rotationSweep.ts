/**
 * Rotation bench: the sweep of a large Managed HSM through the real app on the runner, against a
 * plain script that does the same listing, rotations, verifications and KeyRotated events with the same
 * concurrency on the same emulator, as the same (least-privilege) rotation identity.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/rotationSweep.js [--keys 5000] [--due 0.1] [--concurrency 10] [--batch 50]
 *
 * Prints one JSON line: wall times and their ratio (target ≤ 1.25), HSM requests per sweep from the emulator's
 * audit log (target ≤ list pages + 6 per rotated key) and the largest orchestration history (target ≤ 2,000).
 * Round 1 (app) and round 2 (script) each get their own fresh set of due keys in the same HSM. "versions pages"
 * (one per due key: the rotation id needs its current version) are counted INSIDE the 6 per rotated key.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KeyClient } from "@azure/keyvault-keys";
import { startLocalStack, type LocalStack } from "../dev/localStack";
import { STACK_IDENTITIES } from "../dev/stackIdentities";
import { loadSettings } from "../shared/config/settings";
import { createRotationDeps } from "../shared/rotation/activities/depsFromSettings";
import type { RotationDeps, RotationInstance } from "../shared/rotation/activities/deps";
import { ensureRotationPolicy } from "../shared/rotation/activities/ensurePolicy";
import { listDueKeys, type DueKey } from "../shared/rotation/activities/listDueKeys";
import { recordRotationOutcome } from "../shared/rotation/activities/recordOutcome";
import { BlobServiceClient } from "@azure/storage-blob";
import { rotateKeyVersion } from "../shared/rotation/activities/rotateKeyVersion";
import { verifyKeyVersion } from "../shared/rotation/activities/verifyKeyVersion";
import { parseRotationPolicy } from "../shared/rotation/checkRotationPolicy";
import { triggerNames } from "../shared/names";
import type { RotationSweepOutput } from "../shared/rotation/types";

const DAY = 86_400_000;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i === -1 ? undefined : Number(process.argv[i + 1]);
  if (v === undefined) return fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number; got "${process.argv[i + 1] ?? ""}".`);
  return v;
}

const keys = Math.floor(arg("keys", 5000));
const dueFraction = arg("due", 0.1);
const concurrency = Math.floor(arg("concurrency", 10));
const batch = Math.floor(arg("batch", 50));
const perRound = Math.round(keys * dueFraction);

const policyText = JSON.stringify({
  version: 1,
  defaults: { gracePeriod: "P2D" },
  rules: [{ name: "hsm-keys", instances: ["primary"], rotateBeforeExpiry: "P30D", newVersionExpiry: "P180D" }],
});

async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

function control(stack: LocalStack, path: string): Promise<{ value?: unknown[] }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(new URL(path, stack.urls.primary), { method: "GET", ca: stack.caPem }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve(JSON.parse(text) as { value?: unknown[] }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** HSM requests made by the rotation identity since `since` (the emulator's audit log). */
async function hsmRequests(stack: LocalStack, since: string): Promise<{ total: number; byOperation: Record<string, number> }> {
  const answer = await control(stack, `/_emulator/audit?oid=${encodeURIComponent(STACK_IDENTITIES.rotation)}&since=${encodeURIComponent(since)}`);
  const byOperation: Record<string, number> = {};
  for (const r of answer.value ?? []) {
    const op = String((r as { operationName?: unknown }).operationName ?? "?");
    byOperation[op] = (byOperation[op] ?? 0) + 1;
  }
  return { total: (answer.value ?? []).length, byOperation };
}

/**
 * Unauthenticated bearer challenges (401, no caller oid) between `since` and `until`: each new SDK pipeline
 * (one per CryptographyClient) sends one before its first authenticated request. Reported apart from the
 * budget, which counts the rotation identity's requests; nobody else talks to the HSM in those windows.
 */
async function challenges(stack: LocalStack, since: string, until?: string): Promise<number> {
  const answer = await control(stack, `/_emulator/audit?operationName=Authentication&since=${encodeURIComponent(since)}`);
  return (answer.value ?? []).filter((r) => until === undefined || String((r as { time?: unknown }).time ?? "") < until).length;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "bench-rotation-"));
  writeFileSync(join(dir, "rotation-policy.json"), policyText);
  const stack = await startLocalStack({
    stateDir: dir,
    azuriteInMemory: true,
    settingsOverrides: { ROTATION_BATCH_SIZE: String(batch) },
    // Real clock: the grace-period timers (P2D) must not fire during the measurement.
    runner: { clock: "real", port: 0, scheduleTimers: false, startupTimers: false, maxConcurrentActivities: concurrency },
  });
  try {
    const runner = stack.runner;
    if (runner === undefined) throw new Error("the stack started no runner");
    const admin = new KeyClient(stack.urls.primary, stack.adminCredential, stack.clientOptions());
    const now = Date.now();
    // Round 1's due keys, round 2's (made due only after round 1), and the rest far from expiry.
    const names = Array.from({ length: keys }, (_, i) => `k${String(i).padStart(5, "0")}`);
    const roundOne = new Set(names.slice(0, perRound));
    const roundTwo = names.slice(perRound, 2 * perRound);
    const t0 = Date.now();
    await forEachLimited(names, 32, async (name) => {
      await admin.createEcKey(name, { curve: "P-256", keyOps: ["sign", "verify"], expiresOn: new Date(now + (roundOne.has(name) ? 10 : 300) * DAY) });
    });
    const seedMs = Date.now() - t0;

    // Round 1: the app's sweep (timer → sweep → batches → rotateKey sub-orchestrations).
    const since1 = new Date().toISOString();
    const a0 = Date.now();
    await runner.fireTimer(triggerNames.rotationSweepTimer);
    const sweepId = [...runner.startedInstances].find((id) => id.startsWith("sweep:"));
    if (sweepId === undefined) throw new Error("the timer started no sweep");
    const [sweep] = await runner.waitForTerminal([sweepId]);
    const appMs = Date.now() - a0;
    if (sweep?.runtimeStatus !== "Completed") throw new Error(`sweep ${sweepId} ended ${sweep?.runtimeStatus}: ${sweep?.output ?? ""}`);
    const sweepOut = JSON.parse(sweep.output ?? "{}") as RotationSweepOutput;
    // Retirement instances run their first pass right after each rotation; let them settle before counting.
    await new Promise((r) => setTimeout(r, 1500));
    const appRequests = await hsmRequests(stack, since1);
    // The largest histories are the sweep's and its batches' (a rotateKey has a dozen events); all are read.
    const ids = [sweepId, ...Array.from({ length: sweepOut.batches }, (_, b) => `${sweepId}:batch:${b}`)];
    let largestHistory = 0;
    let largestName = "";
    for (const id of ids) {
      const rec = runner.host.get(id);
      if (rec !== undefined && rec.history.length > largestHistory) {
        largestHistory = rec.history.length;
        largestName = `${rec.name} ${id}`;
      }
    }
    const instances = ids.length;

    // Round 2: a plain script, same identity, same activities' code, same concurrency, no durable.
    await forEachLimited(roundTwo, 32, async (name) => {
      const v = (await admin.getKey(name)).properties.version ?? "";
      await admin.updateKeyProperties(name, v, { expiresOn: new Date(now + 10 * DAY) });
    });
    const topicKey = stack.settings["LIFECYCLE_TOPIC_KEY"] ?? "";
    const deps: RotationDeps = createRotationDeps({ ...loadSettings(stack.settings), lifecycleTopic: { endpoint: stack.topicEndpoint, key: topicKey } }, stack.managedIdentityCredential("rotation"));
    const instance: RotationInstance = { name: "primary", kind: "managedHsm" };
    // Same event + audit record per rotation as the app writes.
    const audit = {
      now: () => new Date(),
      auditContainer: BlobServiceClient.fromConnectionString(stack.storageConnectionString).getContainerClient(stack.settings["AUDIT_CONTAINER"] ?? "lifecycle-audit"),
      ...(deps.publisher === undefined ? {} : { publisher: deps.publisher }),
    };
    const policy = parseRotationPolicy(policyText, [{ name: "primary", kind: "managedHsm" }], "bench policy");
    const since2 = new Date().toISOString();
    const s0 = Date.now();
    const listed = await listDueKeys({ instance, policy, now: new Date().toISOString() }, deps);
    let scriptRotated = 0;
    await forEachLimited(listed.due, concurrency, async (key: DueKey) => {
      await ensureRotationPolicy({ instance, name: key.name, newVersionExpiry: "P180D" }, deps);
      const rotated = await rotateKeyVersion({ instance, name: key.name, fromVersion: key.version, newVersionExpiry: "P180D" }, deps);
      const verified = await verifyKeyVersion(
        { instance, name: key.name, version: rotated.version, key: rotated.newKey, previousVersion: key.version, ...(rotated.previousKey === undefined ? {} : { previousKey: rotated.previousKey }) },
        deps,
      );
      if (verified.kind !== "verified") throw new Error(`script: ${key.name} failed verification: ${verified.reason}`);
      const at = new Date().toISOString();
      await recordRotationOutcome(
        {
          type: "KeyRotated",
          id: `bench:${key.instanceId}`,
          time: at,
          data: { instance: "primary", instanceKind: "managedHsm", keyName: key.name, keyId: rotated.keyId, newVersion: rotated.version, previousVersion: key.version, trigger: "nearExpiry", runId: "bench", rotatedAt: at, expiresOn: rotated.expiresOn ?? null },
        },
        audit,
      );
      scriptRotated++;
    });
    const scriptMs = Date.now() - s0;
    const scriptRequests = await hsmRequests(stack, since2);
    const appChallenges = await challenges(stack, since1, since2);
    const scriptChallenges = await challenges(stack, since2);

    const listPages = listed.requests.keyPages;
    const rotated = sweepOut.outcomes.rotated ?? 0;
    console.log(
      JSON.stringify({
        bench: "rotationSweep",
        keys,
        dueFraction,
        concurrency,
        batchSize: batch,
        seedMs,
        app: { wallMs: appMs, rotated, alreadyHandled: sweepOut.alreadyHandled, failures: sweepOut.failures.length, hsmRequests: appRequests.total, byOperation: appRequests.byOperation, authChallenges: appChallenges, instances },
        script: { wallMs: scriptMs, rotated: scriptRotated, hsmRequests: scriptRequests.total, byOperation: scriptRequests.byOperation, authChallenges: scriptChallenges },
        wallTimeRatio: Number((appMs / Math.max(1, scriptMs)).toFixed(3)),
        hsmRequestsPerSweep: appRequests.total,
        listPages,
        requestBudget: listPages + 6 * rotated,
        requestsPerRotatedKey: rotated === 0 ? null : Number(((appRequests.total - listPages) / rotated).toFixed(2)),
        largestHistory: { events: largestHistory, orchestration: largestName },
        targets: { wallTimeRatio: 1.25, requests: "list pages + 6 per rotated key", largestHistory: 2000 },
      }),
    );
  } finally {
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack ?? e.message : String(e));
  process.exitCode = 1;
});
