/**
 * Event-burst bench: N KeyNearExpiry events for N due HSM keys (EC P-256 and RSA-2048, policies set) published
 * at once to the lifecycle topic, delivered by the emulator's Event Grid to the runner's webhook, rotated by
 * the app against an HSM with the emulator's capacity model, the app paced at the same capacity
 * (HSM_CREATE_RATE = 1 create/s per partition × partitions × time scale).
 *
 *   npx tsc -p tsconfig.json && node dist/bench/rotationBurst.js [--events 500] [--partitions 1] [--time-scale 5] [--queue-limit 50]
 *   node dist/bench/rotationBurst.js --paced [--events 200] [--time-scale 5]
 *
 * Prints one JSON line. Burst: `events`, `rotated`, `rotatedTwice`, `failed`, `wallMs` (first publish → last
 * rotation terminal), `capacityBoundMs` (events ÷ (1 × partitions × time scale) s: what the modelled HSM needs for
 * the creates alone) and `ratioToCapacityBound` (target ≤ 1.1; rotated = events, rotatedTwice = failed = 0).
 * `--paced`: events one at a time, each after the previous rotation finished: `p50Ms`, `p99Ms` from publish to
 * the verified rotation's completion (the instance's terminal state, seen within 20 ms; target p99 ≤ 500 ms), and
 * `stagesMs`: p50/p99 of each stage (delivery, each activity, the slot's timer included in reserveCreateSlot),
 * `hsmCreateMs`: the emulator's own time per create (its audit log). The keys are seeded before the capacity model is
 * switched on (a restart of the emulator on the same state), so seeding does not take events ÷ rate seconds.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalStack, type LocalStack } from "../dev/localStack";
import { awaitRotations, burstKeysOn, burstPolicyText, capacityArgs, publishNearExpiry, seedDueKeys, type BurstKey } from "../dev/rotationBurst";
import { EventType, type HistoryEvent } from "../runner/historyEvents";

interface Args {
  events: number;
  partitions: number;
  timeScale: number;
  queueLimit: number;
  paced: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { events: 500, partitions: 1, timeScale: 5, queueLimit: 50, paced: false };
  let eventsGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === "--paced") {
      args.paced = true;
      continue;
    }
    const raw = argv[++i];
    const n = Number(raw);
    const positive = (min: number) => {
      if (!Number.isFinite(n) || n < min) throw new Error(`${flag} needs a number ≥ ${min}; got "${raw ?? ""}".`);
      return n;
    };
    if (flag === "--events") {
      args.events = Math.floor(positive(1));
      eventsGiven = true;
    } else if (flag === "--partitions") args.partitions = Math.floor(positive(1));
    else if (flag === "--time-scale") args.timeScale = positive(0.001);
    else if (flag === "--queue-limit") args.queueLimit = Math.floor(positive(0));
    else throw new Error(`Unknown flag ${flag ?? ""}. Use --events N, --partitions N, --time-scale N, --queue-limit N, --paced.`);
  }
  if (args.paced && !eventsGiven) args.events = 200;
  return args;
}

/**
 * Where one event's time went, from the rotateKey instance's history (each step's start is the episode that
 * scheduled it): `delivery` publish → orchestration start; then each activity until the next is scheduled
 * (`reserveCreateSlot` includes the durable timer's wait for the slot); `record` until the instance completed.
 */
function stagesOf(history: readonly HistoryEvent[], publishedAt: number, finishedAt: number): Record<string, number> {
  const at = (e: HistoryEvent | undefined) => (e === undefined ? Number.NaN : Date.parse(e.Timestamp));
  const stages: Record<string, number> = { delivery: at(history.find((e) => e.EventType === EventType.ExecutionStarted)) - publishedAt };
  const scheduled = history.filter((e) => e.EventType === EventType.TaskScheduled);
  scheduled.forEach((e, i) => {
    const next = scheduled[i + 1];
    const end = next === undefined ? finishedAt : at(next);
    const name = e.Name === "recordRotationOutcome" ? "record" : (e.Name ?? `step${i}`);
    stages[name] = end - at(e);
  });
  return stages;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

/** BENCH_LOG=1: progress lines on stderr. */
const progress = process.env["BENCH_LOG"] ? (line: string) => console.error(`[${new Date().toISOString()}] ${line}`) : () => undefined;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const createsPerSecond = 1 * args.partitions * args.timeScale;
  const dir = mkdtempSync(join(tmpdir(), "bench-burst-"));
  writeFileSync(join(dir, "rotation-policy.json"), burstPolicyText);
  let stack: LocalStack | undefined;
  try {
    // 1. Seed without the capacity model (creates at the emulator's own speed), then restart with it.
    const seedStart = Date.now();
    const seeding = await startLocalStack({ stateDir: dir, azuriteInMemory: true, log: progress });
    progress("seeding");
    let keys: BurstKey[];
    try {
      keys = await seedDueKeys(seeding, args.events, { concurrency: 16 });
    } finally {
      await seeding.close();
    }
    const seedMs = Date.now() - seedStart;
    progress(`seeded ${keys.length} keys in ${seedMs} ms; restarting with the capacity model`);
    stack = await startLocalStack({
      stateDir: dir,
      azuriteInMemory: true,
      emulatorArgs: capacityArgs({ partitions: args.partitions, timeScale: args.timeScale, queueLimit: args.queueLimit }),
      settingsOverrides: { HSM_CREATE_RATE: String(createsPerSecond) },
      runner: { clock: "real", port: 0, scheduleTimers: false, startupTimers: false },
      log: progress,
    });
    progress("stack up");
    keys = burstKeysOn(stack, keys);
    const common = { events: args.events, partitions: args.partitions, timeScale: args.timeScale, createsPerSecond, seedMs, keyTypes: "EC P-256 and RSA-2048, alternating" };

    if (args.paced) {
      const latencies: number[] = [];
      const stageSamples = new Map<string, number[]>();
      for (const key of keys) {
        const t0 = Date.now();
        await publishNearExpiry(stack, [key], { concurrency: 1 });
        const o = await awaitRotations(stack, [key], 60_000);
        if (o.rotated !== 1) throw new Error(`paced: ${key.name} did not rotate: ${o.failures.join(" | ")}`);
        // Up to the instance's completion, not the bench's own versions listing (rotatedTwice) that follows it.
        const finishedAt = o.finishedAt.get(key.instanceId) ?? Date.now();
        latencies.push(finishedAt - t0);
        const history = stack.runner?.host.get(key.instanceId)?.history ?? [];
        for (const [stage, ms] of Object.entries(stagesOf(history, t0, finishedAt))) stageSamples.set(stage, [...(stageSamples.get(stage) ?? []), ms]);
      }
      const sorted = [...latencies].sort((a, b) => a - b);
      const stagesMs = Object.fromEntries(
        [...stageSamples].map(([stage, samples]) => {
          const s = [...samples].sort((a, b) => a - b);
          return [stage, { p50: Math.round(percentile(s, 50)), p99: Math.round(percentile(s, 99)) }];
        }),
      );
      // The HSM's own time per create (capacity wait + key generation + the durable write), from its audit log.
      const creates = await stack.control("primary", "GET", "/_emulator/audit?operationName=KeyRotate");
      const createMs = ((creates.body?.value ?? []) as { durationMs?: number }[]).map((r) => r.durationMs ?? 0).sort((a, b) => a - b);
      const hsmCreateMs = { p50: Math.round(percentile(createMs, 50)), p99: Math.round(percentile(createMs, 99)) };
      console.log(JSON.stringify({ bench: "rotationBurst", mode: "paced", ...common, p50Ms: Math.round(percentile(sorted, 50)), p99Ms: Math.round(percentile(sorted, 99)), maxMs: Math.round(sorted.at(-1) ?? 0), stagesMs, hsmCreateMs, targets: { p99Ms: 500 } }));
      return;
    }

    const t0 = Date.now();
    await publishNearExpiry(stack, keys, { concurrency: 32 });
    const publishedMs = Date.now() - t0;
    progress(`published ${keys.length} events in ${publishedMs} ms`);
    const out = await awaitRotations(stack, keys, Math.max(600_000, (args.events / createsPerSecond) * 5_000));
    const wallMs = Math.max(...out.finishedAt.values()) - t0;
    const capacityBoundMs = (args.events / createsPerSecond) * 1000;
    const throttled = await stack.control("primary", "GET", "/_emulator/audit?operationName=KeyRotate");
    const refused = ((throttled.body?.value ?? []) as { resultSignature?: string }[]).filter((r) => r.resultSignature === "429").length;
    console.log(
      JSON.stringify({
        bench: "rotationBurst",
        mode: "burst",
        ...common,
        queueLimit: args.queueLimit,
        publishedMs,
        rotated: out.rotated,
        rotatedTwice: out.rotatedTwice,
        failed: out.failed,
        ...(out.failures.length > 0 ? { failures: out.failures } : {}),
        createsRefused429: refused,
        wallMs,
        capacityBoundMs: Math.round(capacityBoundMs),
        ratioToCapacityBound: Number((wallMs / capacityBoundMs).toFixed(3)),
        targets: { rotated: args.events, rotatedTwice: 0, failed: 0, ratioToCapacityBound: 1.1 },
      }),
    );
  } finally {
    await stack?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exitCode = 1;
});
