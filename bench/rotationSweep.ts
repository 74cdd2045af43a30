/**
 * Rotation sweep bench: the sweep of a large Managed HSM through the real app on the runner, against a plain
 * script that does the same listing, rotations, verifications and KeyRotated events with the same concurrency
 * on the same emulator, as the same (least-privilege) rotation identity and with the same activity code (so
 * both keep each key's version record). The two sides alternate, app first then script, `--pairs` times
 * (ABAB…), so a load change on the shared machine moves both sides of a pair; the ratio reported is the median
 * of the pairs' ratios. Each side has its own due keys of the same shape (made due again before each of its
 * rounds), so a side's next rotation of a key follows its own last one, as in production where nothing else
 * rotates the key in between.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/rotationSweep.js [--keys 5000] [--due 0.1] [--pairs 3] [--concurrency 10] [--batch 50]
 *
 * The due keys alternate EC P-256 (sign/verify) and RSA-2048 (all operations), their rotation policies set
 * ("once policies are set"); the rest are EC keys far from expiry. Pacing is off here (HSM_CREATE_RATE=0; the
 * emulator models no capacity in this bench): this measures what the orchestration costs; `rotationBurst`
 * measures pacing. Prints one JSON line: `wallTimeRatio` (median app/script, target ≤ 1.15),
 * `requestsPerRotatedKey` per key type (the rotation identity's requests on a due key in the app's rounds after
 * the first, once the key's last rotation is recorded; the first rounds' cost, a GET more, is
 * `firstRotationRequestsPerKey`; without the sweep's discovery — key list pages and the one versions page per due
 * key, reported as `discoveryRequestsPerDueKey`), `authChallenges` (401 challenges per side over all its rounds: one per HSM per
 * worker), `largestHistory` (target ≤ 2,000 events).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KeyClient } from "@azure/keyvault-keys";
import { BlobServiceClient } from "@azure/storage-blob";
import { startLocalStack, type LocalStack } from "../dev/localStack";
import { STACK_IDENTITIES } from "../dev/stackIdentities";
import { loadSettings } from "../shared/config/settings";
import { orchestrationNames } from "../shared/names";
import { parseRotationPolicy } from "../shared/rotation/checkRotationPolicy";
import type { RotationDeps, RotationInstance } from "../shared/rotation/activities/deps";
import { createRotationDeps } from "../shared/rotation/activities/depsFromSettings";
import { versionRecordsFromSettings } from "../shared/rotation/activities/versionRecordsFromSettings";
import { ensurePolicyAndRotate } from "../shared/rotation/activities/ensureAndRotate";
import { listDueKeys, type DueKey } from "../shared/rotation/activities/listDueKeys";
import { recordRotationOutcome } from "../shared/rotation/activities/recordOutcome";
import { verifyKeyVersion } from "../shared/rotation/activities/verifyKeyVersion";
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
const pairs = Math.max(1, Math.floor(arg("pairs", 3)));
const concurrency = Math.floor(arg("concurrency", 10));
const batch = Math.floor(arg("batch", 50));
const dueCount = Math.max(2, Math.round(keys * dueFraction));

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

type AuditRow = { time: string; operationName: string; identity?: { claim?: { oid?: string } }; properties?: { requestUri?: string } };

/** Audit rows of `primary` in [since, until): the rotation identity's requests, and the 401 challenges (no oid). */
async function auditWindow(stack: LocalStack, since: string, until: string): Promise<{ rotation: AuditRow[]; challenges: number }> {
  const all = (await stack.control("primary", "GET", `/_emulator/audit?since=${encodeURIComponent(since)}`)).body.value as AuditRow[];
  const inWindow = all.filter((r) => r.time < until);
  return {
    rotation: inWindow.filter((r) => r.identity?.claim?.oid === STACK_IDENTITIES.rotation),
    challenges: inWindow.filter((r) => r.operationName === "Authentication").length,
  };
}

function keyOf(row: AuditRow): string | undefined {
  const path = row.properties?.requestUri === undefined ? "" : new URL(row.properties.requestUri).pathname;
  return path.split("/")[2] || undefined;
}

interface SideResult {
  wallMs: number;
  rotated: number;
  requests: number;
  challenges: number;
  byOperation: Record<string, number>;
  /** Rotation requests on due keys by key type (discovery left out), and discovery requests. */
  perType: Record<"ec" | "rsa", number>;
  discovery: number;
}

function summarise(rows: AuditRow[], challenges: number, wallMs: number, rotated: number, typeOf: Map<string, "ec" | "rsa">): SideResult {
  const byOperation: Record<string, number> = {};
  const perType = { ec: 0, rsa: 0 };
  let discovery = 0;
  for (const r of rows) {
    byOperation[r.operationName] = (byOperation[r.operationName] ?? 0) + 1;
    if (r.operationName === "KeyList" || r.operationName === "KeyListVersions") {
      discovery++;
      continue;
    }
    const type = typeOf.get(keyOf(r) ?? "");
    if (type !== undefined) perType[type]++;
  }
  return { wallMs, rotated, requests: rows.length, challenges, byOperation, perType, discovery };
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "bench-rotation-"));
  writeFileSync(join(dir, "rotation-policy.json"), policyText);
  const stack = await startLocalStack({
    stateDir: dir,
    azuriteInMemory: true,
    settingsOverrides: { ROTATION_BATCH_SIZE: String(batch), HSM_CREATE_RATE: "0" },
    // Real clock: the grace-period timers (P2D) must not fire during the measurement.
    runner: { clock: "real", port: 0, scheduleTimers: false, startupTimers: false, maxConcurrentActivities: concurrency },
  });
  try {
    const runner = stack.runner;
    if (runner === undefined) throw new Error("the stack started no runner");
    const admin = new KeyClient(stack.urls.primary, stack.adminCredential, stack.clientOptions());
    const names = Array.from({ length: keys }, (_, i) => `k${String(i).padStart(5, "0")}`);
    const dueOf = { app: names.slice(0, dueCount), script: names.slice(dueCount, 2 * dueCount) };
    const typeOf = new Map<string, "ec" | "rsa">([...dueOf.app, ...dueOf.script].map((n, i) => [n, i % 2 === 0 ? "ec" : "rsa"]));
    // One request alone first: the SDK's challenge policy loses the body of a concurrent first request.
    await admin.listPropertiesOfKeys().byPage().next();
    const t0 = Date.now();
    await forEachLimited(names, 32, async (name) => {
      const expiresOn = new Date(Date.now() + 300 * DAY);
      if (typeOf.get(name) === "rsa") await admin.createRsaKey(name, { keySize: 2048, expiresOn });
      else await admin.createEcKey(name, { curve: "P-256", keyOps: ["sign", "verify"], expiresOn });
      if (typeOf.has(name)) await admin.updateKeyRotationPolicy(name, { expiresIn: "P180D", lifetimeActions: [] });
    });
    const seedMs = Date.now() - t0;
    const makeDue = (side: "app" | "script") =>
      forEachLimited(dueOf[side], 32, async (name) => {
        const v = (await admin.getKey(name)).properties.version ?? "";
        await admin.updateKeyProperties(name, v, { expiresOn: new Date(Date.now() + 10 * DAY) });
      });

    // The script's worker: built once, like the app's, and reused by every script round.
    const topicKey = stack.settings["LIFECYCLE_TOPIC_KEY"] ?? "";
    const scriptSettings = loadSettings(stack.settings);
    const deps: RotationDeps = createRotationDeps({ ...scriptSettings, lifecycleTopic: { endpoint: stack.topicEndpoint, key: topicKey } }, stack.managedIdentityCredential("rotation"));
    const records = versionRecordsFromSettings(scriptSettings, stack.managedIdentityCredential("rotation"));
    if (records !== undefined) deps.versionRecords = records;
    const instance: RotationInstance = { name: "primary", kind: "managedHsm" };
    const audit = {
      now: () => new Date(),
      auditContainer: BlobServiceClient.fromConnectionString(stack.storageConnectionString).getContainerClient(stack.settings["AUDIT_CONTAINER"] ?? "lifecycle-audit"),
      ...(deps.publisher === undefined ? {} : { publisher: deps.publisher }),
    };
    const policy = parseRotationPolicy(policyText, [{ name: "primary", kind: "managedHsm" }], "bench policy");

    let largestHistory = 0;
    let largestName = "";
    let appFailures = 0;
    const runApp = async (round: number): Promise<{ wallMs: number; rotated: number }> => {
      const id = `sweep:bench:${round}`;
      const a0 = Date.now();
      runner.host.startNew(orchestrationNames.rotationSweep, id, { trigger: "schedule" });
      const [sweep] = await runner.waitForTerminal([id]);
      const wallMs = Date.now() - a0;
      if (sweep?.runtimeStatus !== "Completed") throw new Error(`sweep ${id} ended ${sweep?.runtimeStatus}: ${sweep?.output ?? ""}`);
      const out = JSON.parse(sweep.output ?? "{}") as RotationSweepOutput;
      appFailures += out.failures.length;
      for (const hid of [id, ...Array.from({ length: out.batches }, (_, b) => `${id}:batch:${b}`)]) {
        const rec = runner.host.get(hid);
        if (rec !== undefined && rec.history.length > largestHistory) {
          largestHistory = rec.history.length;
          largestName = `${rec.name} ${hid}`;
        }
      }
      return { wallMs, rotated: out.outcomes.rotated ?? 0 };
    };
    const runScript = async (round: number): Promise<{ wallMs: number; rotated: number }> => {
      const s0 = Date.now();
      const listed = await listDueKeys({ instance, policy, now: new Date().toISOString() }, deps);
      let rotated = 0;
      await forEachLimited(listed.due, concurrency, async (key: DueKey) => {
        // As `rotateKey` does for a sweep's key: the listing is seconds old, so it stands in for a GET.
        const r = await ensurePolicyAndRotate({ instance, name: key.name, fromVersion: key.version, newVersionExpiry: "P180D", confirmCurrent: false }, deps);
        const verified = await verifyKeyVersion(
          { instance, name: key.name, version: r.version, key: r.newKey, previousVersion: key.version, ...(r.kind === "rotated" && r.previousKey !== undefined ? { previousKey: r.previousKey } : {}), roundTrips: "one", ...(r.kind === "rotated" ? { recordAs: { rotatedFrom: key.version } } : {}) },
          deps,
        );
        if (verified.kind !== "verified") throw new Error(`script: ${key.name} failed verification: ${verified.reason}`);
        const at = new Date().toISOString();
        await recordRotationOutcome(
          {
            type: "KeyRotated",
            id: `bench:${round}:${key.instanceId}`,
            time: at,
            data: { instance: "primary", instanceKind: "managedHsm", keyName: key.name, keyId: r.keyId, newVersion: r.version, previousVersion: key.version, trigger: "nearExpiry", runId: "bench", rotatedAt: at, expiresOn: r.expiresOn ?? null },
          },
          audit,
        );
        rotated++;
      });
      return { wallMs: Date.now() - s0, rotated };
    };

    const results: { app: SideResult; script: SideResult; ratio: number }[] = [];
    for (let p = 0; p < pairs; p++) {
      const pair: Partial<Record<"app" | "script", SideResult>> = {};
      for (const side of ["app", "script"] as const) {
        await makeDue(side);
        // Audit times come from the HSM's clock; a millisecond's gap keeps the windows apart.
        await new Promise((r) => setTimeout(r, 5));
        const since = new Date().toISOString();
        const run = side === "app" ? await runApp(p) : await runScript(p);
        await new Promise((r) => setTimeout(r, 5));
        const until = new Date().toISOString();
        const window = await auditWindow(stack, since, until);
        pair[side] = summarise(window.rotation, window.challenges, run.wallMs, run.rotated, typeOf);
      }
      const app = pair.app as SideResult;
      const script = pair.script as SideResult;
      results.push({ app, script, ratio: Number((app.wallMs / Math.max(1, script.wallMs)).toFixed(3)) });
    }

    const sum = (f: (r: SideResult) => number, side: "app" | "script", of = results) => of.reduce((n, r) => n + f(r[side]), 0);
    // Steady state: the pairs after the first, whose keys' last rotation is recorded (the first pair's is not).
    const steady = results.length > 1 ? results.slice(1) : results;
    const perKey = (side: "app" | "script", of: typeof results) => {
      const perType = sum((r) => r.rotated, side, of) / 2;
      return {
        ec: Number((sum((r) => r.perType.ec, side, of) / Math.max(1, perType)).toFixed(2)),
        rsa2048: Number((sum((r) => r.perType.rsa, side, of) / Math.max(1, perType)).toFixed(2)),
      };
    };
    console.log(
      JSON.stringify({
        bench: "rotationSweep",
        keys,
        dueFraction,
        dueKeys: dueCount,
        pairs,
        concurrency,
        batchSize: batch,
        seedMs,
        pacing: "off (HSM_CREATE_RATE=0; no capacity model here; see rotationBurst)",
        rounds: results.map((r) => ({ app: { wallMs: r.app.wallMs, rotated: r.app.rotated, requests: r.app.requests, challenges: r.app.challenges }, script: { wallMs: r.script.wallMs, rotated: r.script.rotated, requests: r.script.requests, challenges: r.script.challenges }, ratio: r.ratio })),
        appFailures,
        wallTimeRatio: median(results.map((r) => r.ratio)),
        requestsPerRotatedKey: perKey("app", steady),
        scriptRequestsPerRotatedKey: perKey("script", steady),
        firstRotationRequestsPerKey: perKey("app", results.slice(0, 1)),
        discoveryRequestsPerDueKey: Number((sum((r) => r.discovery, "app") / Math.max(1, sum((r) => r.rotated, "app"))).toFixed(2)),
        appByOperation: results[results.length - 1]?.app.byOperation,
        authChallenges: { app: sum((r) => r.challenges, "app"), script: sum((r) => r.challenges, "script"), hsms: 1, workers: 1 },
        largestHistory: { events: largestHistory, orchestration: largestName },
        targets: { wallTimeRatio: 1.15, requestsPerRotatedKey: 3, authChallengesPerHsmPerWorker: 1, largestHistory: 2000 },
      }),
    );
  } finally {
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exitCode = 1;
});
