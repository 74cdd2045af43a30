/**
 * Seeding a Managed HSM through the REAL SDK (`KeyClient.createEcKey` / `createRsaKey`, HTTPS, bearer tokens,
 * RBAC) against the emulator running as its own process. Target: 5,000 keys in ≤ 10 s on a 2-core machine.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/emulatorSeed.js [--keys 5000] [--concurrency 16] [--kty ec|rsa] [--probes 200]
 *
 * Prints one JSON line on stdout (progress on stderr):
 * - `keys`, `wallMs`, `keysPerSecond`: the seeding itself (probes excluded);
 * - `perOpMs`: whether a write's cost grows with the HSM's size. `update` = `--probes` sequential key updates
 *   (one durable journal write each, no key generation) when the HSM holds `smallAt` keys and again when it holds
 *   all of them; `create` = median create latency over the first and the last 10% of the seeding;
 *   `largeToSmall` ratios near 1 mean flat;
 * - `keygen`: the cost of generating the key material alone (node's generator in this process, all cores busy),
 *   and `keygenBoundMs`, the least time the emulator needs for that part of the seeding: with RSA it dominates;
 * - `emulatorCpuMsPerKey` / `clientCpuMsPerKey`: CPU per created key of the emulator process and of this one (the
 *   SDK client, HTTPS); on 2 cores their sum bounds the rate; `stateBytes`: its files on disk afterwards;
 * - `persistencePerWriteMs`: one durable write of one changed key (p50), in this process, with 100 and with `--keys`
 *   keys of the seeded size: the journal (what the emulator uses) against rewriting the whole state file (what it
 *   did before), measured alternately (ABAB…) so machine load hits both sides alike.
 *
 * EC P-256 is the default: it seeds at the emulator's own speed. With `--kty rsa` (RSA-2048) the split between
 * key generation and everything else is in `keygen`.
 */
import { generateKeyPair } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { KeyClient } from "@azure/keyvault-keys";
import { AtomicJsonFile } from "../emulator/store/atomicJsonFile";
import { StateJournal } from "../emulator/store/stateJournal";
import { startEmulatorChild, type EmulatorTarget } from "./emulatorChild";
import { machineFacts } from "./machineFacts";
import { runBench } from "./runBench";

interface Args {
  keys: number;
  concurrency: number;
  kty: "ec" | "rsa";
  probes: number;
}

const USAGE = "Usage: node dist/bench/emulatorSeed.js [--keys N (1..5000)] [--concurrency N] [--kty ec|rsa] [--probes N]";

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { keys: 5000, concurrency: 16, kty: "ec", probes: 200 };
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`Missing value after "${flag ?? ""}". ${USAGE}`);
    const int = (): number => {
      if (!/^\d+$/.test(value) || Number(value) < 1) throw new Error(`${flag ?? ""} needs a positive whole number (got "${value}"). ${USAGE}`);
      return Number(value);
    };
    switch (flag) {
      case "--keys":
        args.keys = int();
        break;
      case "--concurrency":
        args.concurrency = int();
        break;
      case "--probes":
        args.probes = int();
        break;
      case "--kty":
        if (value !== "ec" && value !== "rsa") throw new Error(`--kty must be "ec" or "rsa". ${USAGE}`);
        args.kty = value;
        break;
      default:
        throw new Error(`Unknown argument "${flag ?? ""}". ${USAGE}`);
    }
  }
  // A Managed HSM holds at most 5,000 keys; the emulator enforces the limit.
  if (args.keys > 5000) throw new Error(`--keys must be at most 5000 (the Managed HSM key limit). ${USAGE}`);
  return args;
}

const progress = (line: string): void => void process.stderr.write(`[bench emulator-seed] ${line}\n`);
const round = (n: number, digits = 2): number => Number(n.toFixed(digits));

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Creates keys [from, to) with `concurrency` callers; returns the latency of each create in order. */
async function seed(client: KeyClient, kty: Args["kty"], from: number, to: number, concurrency: number): Promise<number[]> {
  const latencies: number[] = new Array<number>(to - from);
  let next = from;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < to) {
        const i = next++;
        const name = `seed-${i}`;
        const t0 = performance.now();
        const key = kty === "ec" ? await client.createEcKey(name, { curve: "P-256" }) : await client.createRsaKey(name, { keySize: 2048 });
        latencies[i - from] = performance.now() - t0;
        if (key.name !== name) throw new Error(`Created key came back as "${key.name}", expected "${name}".`);
      }
    }),
  );
  return latencies;
}

/** `count` sequential updates of one key: each is one authorized request and one durable journal write. */
async function probeUpdates(client: KeyClient, name: string, count: number): Promise<{ p50: number; mean: number }> {
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await client.updateKeyProperties(name, { tags: { probe: String(i) } });
    latencies.push(performance.now() - t0);
  }
  return { p50: round(median(latencies)), mean: round(latencies.reduce((a, b) => a + b, 0) / latencies.length) };
}

/** Milliseconds of key generation per key with every core busy (what the emulator's worker threads face). */
async function keygenMsPerKey(kty: Args["kty"]): Promise<number> {
  const generate = promisify(generateKeyPair);
  const count = kty === "ec" ? 400 : 16;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: count }, () => (kty === "ec" ? generate("ec", { namedCurve: "P-256" }) : generate("rsa", { modulusLength: 2048 }))));
  return ((performance.now() - t0) * availableParallelism()) / count;
}

/**
 * p50 ms of one durable write after changing one entry, for the journal and for a whole-file rewrite, with
 * `entries` entries of `entryBytes` each; the two sides alternate write by write.
 */
async function persistencePerWrite(entries: number, entryBytes: number, writes: number): Promise<{ journal: number; wholeFile: number }> {
  const dir = mkdtempSync(join(tmpdir(), "hsm-bench-persist-"));
  try {
    const items: Record<string, unknown> = {};
    for (let i = 0; i < entries; i++) items[`k${i}`] = { name: `k${i}`, pad: "x".repeat(entryBytes) };
    const journal = new StateJournal({ dir, collections: ["keys"] });
    journal.load();
    journal.attach({ meta: () => ({}), collection: () => items });
    for (let i = 0; i < entries; i++) journal.touch("keys", `k${i}`);
    await journal.commit();
    const wholeFile = new AtomicJsonFile(join(dir, "whole.json"), () => ({ keys: items }));
    const times = { journal: [] as number[], wholeFile: [] as number[] };
    for (let w = 0; w < writes; w++) {
      items["k0"] = { name: "k0", pad: "y".repeat(entryBytes), w };
      journal.touch("keys", "k0");
      let t0 = performance.now();
      await journal.commit();
      times.journal.push(performance.now() - t0);
      t0 = performance.now();
      await wholeFile.save();
      times.wholeFile.push(performance.now() - t0);
    }
    await journal.close();
    return { journal: round(median(times.journal), 3), wholeFile: round(median(times.wholeFile), 3) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function stateBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).size;
  }
  return total;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const stateDir = mkdtempSync(join(tmpdir(), "hsm-bench-seed-"));
  const principal = `bench-${randomUUID()}`;
  let target: EmulatorTarget | undefined;
  try {
    progress(`measuring ${args.kty === "ec" ? "EC P-256" : "RSA-2048"} key generation alone …`);
    const keygenMs = await keygenMsPerKey(args.kty);

    progress("starting the emulator …");
    target = await startEmulatorChild(stateDir, principal);
    const client = new KeyClient(target.url, target.credential, { tlsOptions: { ca: target.caPem }, disableChallengeResourceVerification: true, retryOptions: { maxRetries: 0 } });
    await client.getKey("warm-up").catch(() => undefined); // the token challenge, outside the measurement

    const smallAt = Math.min(100, args.keys);
    const cpu0 = target.cpuSeconds?.();
    const clientCpu0 = process.cpuUsage();
    progress(`seeding ${smallAt} keys, probing, then the other ${args.keys - smallAt} with ${args.concurrency} in flight …`);
    let t0 = performance.now();
    const firstLatencies = await seed(client, args.kty, 0, smallAt, args.concurrency);
    let seedMs = performance.now() - t0;
    const cpu1 = target.cpuSeconds?.();
    const clientCpu1 = process.cpuUsage(clientCpu0);
    const updateSmall = await probeUpdates(client, "seed-0", args.probes);
    const cpu2 = target.cpuSeconds?.();
    const clientCpu2 = process.cpuUsage();
    t0 = performance.now();
    const restLatencies = await seed(client, args.kty, smallAt, args.keys, args.concurrency);
    seedMs += performance.now() - t0;
    const cpu3 = target.cpuSeconds?.();
    const clientCpu3 = process.cpuUsage(clientCpu2);
    const updateLarge = await probeUpdates(client, "seed-0", args.probes);

    const latencies = [...firstLatencies, ...restLatencies];
    const tenth = Math.max(1, Math.floor(latencies.length / 10));
    const createFirst = median(latencies.slice(0, tenth));
    const createLast = median(latencies.slice(-tenth));
    const serverCpuMs = cpu0 !== undefined && cpu1 !== undefined && cpu2 !== undefined && cpu3 !== undefined ? (cpu1 - cpu0 + (cpu3 - cpu2)) * 1000 : undefined;
    await target.close();
    target = undefined;
    const bytes = stateBytes(stateDir);
    progress("comparing one durable write: journal vs whole-file rewrite, small and large …");
    const entryBytes = Math.round(bytes / args.keys);
    const small = await persistencePerWrite(smallAt, entryBytes, 30);
    const large = await persistencePerWrite(args.keys, entryBytes, 30);

    process.stdout.write(
      JSON.stringify({
        bench: "emulator-seed",
        kty: args.kty === "ec" ? "EC P-256" : "RSA-2048",
        keys: args.keys,
        concurrency: args.concurrency,
        wallMs: Math.round(seedMs),
        keysPerSecond: round(args.keys / (seedMs / 1000), 1),
        target: { keys: 5000, maxWallMs: 10_000 },
        pass: args.keys >= 5000 ? seedMs <= 10_000 : undefined,
        perOpMs: {
          smallAt,
          largeAt: args.keys,
          update: { small: updateSmall, large: updateLarge, largeToSmall: round(updateLarge.p50 / updateSmall.p50) },
          create: { firstTenthP50: round(createFirst), lastTenthP50: round(createLast), largeToSmall: round(createLast / createFirst) },
        },
        keygen: { msPerKey: round(keygenMs, 3), keygenBoundMs: Math.round((keygenMs * args.keys) / availableParallelism()) },
        ...(serverCpuMs !== undefined ? { emulatorCpuMsPerKey: round(serverCpuMs / args.keys, 3) } : {}),
        clientCpuMsPerKey: round((clientCpu1.user + clientCpu1.system + clientCpu3.user + clientCpu3.system) / 1000 / args.keys, 3),
        stateBytes: bytes,
        persistencePerWriteMs: { entryBytes, smallAt, largeAt: args.keys, journal: { small: small.journal, large: large.journal }, wholeFile: { small: small.wholeFile, large: large.wholeFile } },
        ...machineFacts(),
      }) + "\n",
    );
  } finally {
    await target?.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

runBench("emulator-seed", main);
