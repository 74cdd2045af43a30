/**
 * Emulator benchmark: RSA-2048 RS256 sign throughput through the REAL SDK
 * (`CryptographyClient.sign("RS256", digest)`, 8 requests in flight, HTTPS, bearer-token auth, RBAC) against the
 * emulator, compared with raw `crypto.sign` on a local RSA-2048 key in the same run. Target: ratio ≥ 0.5.
 *
 *   npm run build && node dist/bench/emulatorSign.js [--seconds 5] [--concurrency 8] [--mode process|inproc]
 *     [--profile-dir DIR]   (process mode: V8 CPU profile of the emulator, open in Chrome DevTools)
 *
 * --mode process (default) runs the emulator as its own process (`node dist/emulator/main.js`, the way it is
 * deployed), so client and server do not share one event loop; --mode inproc starts it inside this process with
 * `startEmulator` (what the tests do). Prints exactly one JSON line on stdout; progress goes to stderr.
 *
 * SDK load and raw signing run in interleaved slices (1 s SDK, 0.5 s raw, repeated) so that load from other
 * processes on the machine affects both sides alike; `ratioPerRound` shows the spread.
 *
 * "Where the time goes" fields (µs per op): `rawSign` (node's RSA private operation), `emulatorCryptoModule`
 * (emulator/crypto `sign()` called directly: DigestInfo + the same private operation, cached KeyObject),
 * `sdkRoundTrip` (wall time per SDK op at the measured throughput), `clientProcessCpu` (SDK pipeline + HTTPS client)
 * and `emulatorProcessCpu` (process mode, Linux: everything the emulator spends per request; minus
 * `emulatorCryptoModule` that is HTTP/TLS, JSON, token validation, RBAC and auditing).
 */
import { createHash, generateKeyPairSync, randomUUID, sign as nodeSign, type KeyObject } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { CryptographyClient, KeyClient } from "@azure/keyvault-keys";
import { generateKeyMaterial } from "../emulator/crypto/keyMaterial";
import { sign as emulatorSign } from "../emulator/crypto/keyOperations";
import { startEmulator, type RunningEmulator } from "../emulator/index";
import { startEmulatorChild, type EmulatorTarget } from "./emulatorChild";
import { machineFacts } from "./machineFacts";
import { runBench } from "./runBench";

interface Args {
  seconds: number;
  concurrency: number;
  mode: "process" | "inproc";
  /** Write a V8 CPU profile of the emulator process here (process mode) to see where its time goes. */
  profileDir?: string;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { seconds: 5, concurrency: 8, mode: "process" };
  const usage = "Usage: node dist/bench/emulatorSign.js [--seconds N] [--concurrency N] [--mode process|inproc] [--profile-dir DIR]";
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`Missing value after "${flag ?? ""}". ${usage}`);
    switch (flag) {
      case "--seconds":
        args.seconds = Number(value);
        break;
      case "--concurrency":
        args.concurrency = Number(value);
        break;
      case "--mode":
        if (value !== "process" && value !== "inproc") throw new Error(`--mode must be "process" or "inproc". ${usage}`);
        args.mode = value;
        break;
      case "--profile-dir":
        args.profileDir = resolve(value);
        break;
      default:
        throw new Error(`Unknown argument "${flag ?? ""}". ${usage}`);
    }
  }
  if (!(args.seconds > 0) || !Number.isInteger(args.concurrency) || args.concurrency < 1) {
    throw new Error("--seconds must be > 0 and --concurrency a positive integer.");
  }
  return args;
}

const progress = (line: string): void => void process.stderr.write(`[bench emulator-sign] ${line}\n`);

/** Synchronous ops for `seconds`, checking the clock every few ops so the clock is not what we measure. */
function opsPerSecond(seconds: number, op: () => void): number {
  const end = performance.now() + seconds * 1000;
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now < end) {
    for (let i = 0; i < 20; i++) op();
    ops += 20;
    now = performance.now();
  }
  return ops / ((now - start) / 1000);
}

type Target = EmulatorTarget;

async function startInProcess(stateDir: string, principal: string): Promise<Target> {
  const emu: RunningEmulator = await startEmulator({
    stateDir,
    instances: [{ kind: "managedHsm", name: "primary", port: 0 }],
    admins: [principal],
    log: () => undefined,
  });
  const primary = emu.instances["primary"];
  if (!primary) throw new Error("startEmulator did not start the 'primary' instance.");
  return { url: primary.url, caPem: emu.caPem, credential: emu.credential(principal), close: () => emu.close() };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** One slice of SDK load: `concurrency` callers signing back to back until `seconds` have passed. */
async function sdkSlice(
  client: CryptographyClient,
  digest: Buffer,
  concurrency: number,
  seconds: number,
  latencies: number[],
): Promise<{ ops: number; seconds: number }> {
  const start = performance.now();
  const end = start + seconds * 1000;
  let ops = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        const r = await client.sign("RS256", digest);
        latencies.push(performance.now() - t0);
        ops++;
        if (r.result.length !== 256) throw new Error(`Unexpected RS256 signature length ${r.result.length}.`);
      }
    }),
  );
  return { ops, seconds: (performance.now() - start) / 1000 };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const stateDir = mkdtempSync(join(tmpdir(), "hsm-bench-sign-"));
  const principal = `bench-${randomUUID()}`;
  let target: Target | undefined;
  try {
    const data = Buffer.from("hsm-lifecycle emulator sign benchmark payload");
    const digest = createHash("sha256").update(data).digest();

    // Baseline: node's RSA-2048 sign on a local key in this process; and the emulator's crypto module on its own.
    const { privateKey }: { privateKey: KeyObject } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const jwk = generateKeyMaterial("RSA", { size: 2048 });
    const rawSign = (): void => void nodeSign("sha256", data, privateKey);
    const moduleOps = opsPerSecond(1, () => void emulatorSign(jwk, "RS256", digest));

    progress(`starting the emulator (${args.mode}) …`);
    target = args.mode === "inproc" ? await startInProcess(stateDir, principal) : await startEmulatorChild(stateDir, principal, args.profileDir !== undefined ? { profileDir: args.profileDir } : {});
    const clientOptions = { tlsOptions: { ca: target.caPem }, disableChallengeResourceVerification: true };
    const keys = new KeyClient(target.url, target.credential, clientOptions);
    const key = await keys.createRsaKey(`bench-rsa-${Date.now()}`, { keySize: 2048, keyOps: ["sign", "verify"] });
    if (!key.id) throw new Error("createRsaKey returned a key without an id.");
    const client = new CryptographyClient(key.id, target.credential, clientOptions);

    // Correctness first: the signature the SDK gets back must verify locally with the key's public part (n, e).
    const first = await client.sign("RS256", digest);
    const verified = await client.verifyData("RS256", data, first.result);
    if (!verified.result) throw new Error("The emulator's RS256 signature did not verify with the key's public part.");

    progress("warming up …");
    await sdkSlice(client, digest, args.concurrency, 1, []);
    opsPerSecond(0.3, rawSign);

    // Other helpers share this 2-core machine and their load changes by the second, so raw and SDK throughput are
    // measured in interleaved slices (1 s SDK, 0.5 s raw) and totalled: a load change hits both sides alike.
    progress(`measuring: ${args.seconds} s of SDK sign with ${args.concurrency} in flight, interleaved with raw crypto.sign …`);
    const latencies: number[] = [];
    const rounds = Math.max(1, Math.round(args.seconds));
    const sliceSeconds = args.seconds / rounds;
    let sdkOps = 0;
    let sdkSeconds = 0;
    let rawOpsTotal = 0;
    let rawSeconds = 0;
    const roundRatios: number[] = [];
    const clientCpuStart = process.cpuUsage();
    const serverCpuStart = target.cpuSeconds?.();
    let rawCpuUs = 0;
    for (let r = 0; r < rounds; r++) {
      const slice = await sdkSlice(client, digest, args.concurrency, sliceSeconds, latencies);
      sdkOps += slice.ops;
      sdkSeconds += slice.seconds;
      const rawCpu = process.cpuUsage();
      const rawRate = opsPerSecond(sliceSeconds / 2, rawSign);
      const rawCpuDelta = process.cpuUsage(rawCpu);
      rawCpuUs += rawCpuDelta.user + rawCpuDelta.system;
      rawOpsTotal += rawRate * (sliceSeconds / 2);
      rawSeconds += sliceSeconds / 2;
      roundRatios.push(slice.ops / slice.seconds / rawRate);
    }
    const clientCpu = process.cpuUsage(clientCpuStart);
    const serverCpuEnd = target.cpuSeconds?.();
    const sdkOpsPerSec = sdkOps / sdkSeconds;
    const rawOpsPerSec = rawOpsTotal / rawSeconds;
    const ratio = sdkOpsPerSec / rawOpsPerSec;
    // In inproc mode client and server share this process, so "client" CPU is both together.
    const clientCpuUsPerOp = (clientCpu.user + clientCpu.system - rawCpuUs) / sdkOps;
    const serverCpuUsPerOp =
      serverCpuStart !== undefined && serverCpuEnd !== undefined ? ((serverCpuEnd - serverCpuStart) * 1e6) / sdkOps : undefined;
    latencies.sort((a, b) => a - b);
    roundRatios.sort((a, b) => a - b);

    const round = (n: number, digits = 1): number => Number(n.toFixed(digits));
    process.stdout.write(
      JSON.stringify({
        bench: "emulator-sign-rsa2048",
        sdkOpsPerSec: round(sdkOpsPerSec),
        rawOpsPerSec: round(rawOpsPerSec),
        ratio: round(ratio, 3),
        target: 0.5,
        pass: ratio >= 0.5,
        mode: args.mode,
        concurrency: args.concurrency,
        seconds: args.seconds,
        sdkOps,
        ratioPerRound: { min: round(roundRatios[0] ?? 0, 3), median: round(percentile(roundRatios, 50), 3), max: round(roundRatios.at(-1) ?? 0, 3) },
        emulatorCryptoModuleOpsPerSec: round(moduleOps),
        latencyMs: { p50: round(percentile(latencies, 50), 2), p99: round(percentile(latencies, 99), 2) },
        perOpUs: {
          rawSign: round(1e6 / rawOpsPerSec),
          emulatorCryptoModule: round(1e6 / moduleOps),
          sdkRoundTrip: round(1e6 / sdkOpsPerSec),
          clientProcessCpu: round(clientCpuUsPerOp),
          ...(serverCpuUsPerOp !== undefined ? { emulatorProcessCpu: round(serverCpuUsPerOp) } : {}),
        },
        ...machineFacts(),
      }) + "\n",
    );
  } finally {
    await target?.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

runBench("emulator-sign", main);
