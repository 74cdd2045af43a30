/**
 * `npm start` (= `npm run build && node dist/dev/start.js`): the whole app on the local stack.
 *
 *   node dist/dev/start.js [--state-dir DIR] [--port N] [--no-initial-cycle] [--verbose]
 *   node dist/dev/start.js --once [--state-dir DIR] [--timeout SECONDS] [--verbose]
 *
 * Default mode: Azurite + emulator + the runner with this app on port 7071 (a free port if 7071 is taken),
 * real clock, timers on their schedules; demo keys and role assignments seeded; every workflow fired once at
 * start so the demo shows rotations, a backup and a drill at once. State in `.local-stack/` (kept across runs);
 * STATE/stack.json names the runner URL and settings file for the CLI while the stack runs ("stopped" after).
 * Progress goes to stderr; a JSON ready line goes to stdout. Ctrl-C / SIGTERM stop every child cleanly.
 *
 * `--once`: one full cycle on a fresh stack (a temporary state dir unless --state-dir is given) with the
 * runner's virtual clock (durable timers — grace periods, polls — fire as soon as the app is idle): fire the
 * backup timer, then the drill timer, then every other timer, each time waiting for every orchestration to
 * reach a terminal state; print the runner's summary JSON line on stdout; exit 0 only if nothing failed
 * (1 on failures or timeout, 2 if the stack could not start).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Runner, RunSummary } from "../runner/index";
import { orchestrationNames, triggerNames } from "../shared/names";
import { cycleSummary } from "./cycleSummary";
import { repoRoot, startLocalStack, type LocalStack } from "./localStack";
import { stackStateFile, writeStackState } from "./stackStateFile";

interface StartArgs {
  once: boolean;
  stateDir?: string;
  port?: number;
  timeoutSeconds: number;
  initialCycle: boolean;
  verbose: boolean;
}

const USAGE = "usage: node dist/dev/start.js [--once [--timeout SECONDS]] [--state-dir DIR] [--port N] [--no-initial-cycle] [--verbose]";

function parseStartArgs(argv: readonly string[]): StartArgs {
  const args: StartArgs = { once: false, timeoutSeconds: 240, initialCycle: true, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) throw new Error(`${a} needs a value. ${USAGE}`);
      return v;
    };
    switch (a) {
      case "--once":
        args.once = true;
        break;
      case "--state-dir":
        args.stateDir = value();
        break;
      case "--port": {
        const p = Number(value());
        if (!Number.isInteger(p) || p < 0 || p > 65535) throw new Error(`--port must be 0..65535 (0 = any free port). ${USAGE}`);
        args.port = p;
        break;
      }
      case "--timeout": {
        const t = Number(value());
        if (!(t > 0)) throw new Error(`--timeout must be a positive number of seconds. ${USAGE}`);
        args.timeoutSeconds = t;
        break;
      }
      case "--no-initial-cycle":
        args.initialCycle = false;
        break;
      case "--verbose":
        args.verbose = true;
        break;
      case "--help":
      case "-h":
        process.stdout.write(USAGE + "\n");
        process.exit(0);
        break;
      default:
        throw new Error(`Unknown argument "${a}". ${USAGE}`);
    }
  }
  return args;
}

const progress = (line: string): void => {
  process.stderr.write(`[start] ${line}\n`);
};

/** 7071 as Core Tools uses, unless something already listens there. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const probe = createServer();
    probe.once("error", () => resolvePromise(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolvePromise(true)));
  });
}

async function main(): Promise<number> {
  // stdout carries only the JSON lines (ready / summary); app and library logs that use console go to stderr.
  for (const method of ["log", "info", "debug"] as const) console[method] = (...parts: unknown[]) => console.error(...parts);
  let args: StartArgs;
  try {
    args = parseStartArgs(process.argv.slice(2));
  } catch (e) {
    progress((e as Error).message);
    return 2;
  }
  const tempDir = args.once && args.stateDir === undefined ? mkdtempSync(join(tmpdir(), "hsm-lifecycle-once-")) : undefined;
  const stateDir = args.stateDir ?? tempDir ?? join(repoRoot(), ".local-stack");
  const port = args.port ?? (args.once ? 0 : (await portFree(7071)) ? 7071 : 0);

  let stack: LocalStack | undefined;
  /** What STATE/stack.json says while this stack runs (the CLI finds the stack through it). */
  let published: { pid: number; url: string; settingsFile: string } | undefined;
  let stopping: Promise<number> | undefined;
  const stop = (code: number): Promise<number> =>
    (stopping ??= (async () => {
      if (stack !== undefined) {
        if (published !== undefined) writeStackState(stateDir, { ...published, state: "stopped" });
        progress("stopping the runner, the emulator and Azurite");
        await stack.close().catch((e: unknown) => progress(`stop failed: ${(e as Error).message}`));
      }
      if (tempDir !== undefined) rmSync(tempDir, { recursive: true, force: true });
      return code;
    })());
  let signalled: number | undefined;
  const onSignal = (signal: NodeJS.Signals, code: number): void => {
    if (signalled !== undefined) {
      progress(`${signal} again: exiting now (children exit on their own when this process is gone)`);
      process.exit(code);
    }
    signalled = code;
    progress(`${signal} received`);
    // While the stack is still starting, main() stops it as soon as startLocalStack returns.
    if (stack !== undefined) void stop(code).then((c) => process.exit(c));
  };
  process.on("SIGINT", () => onSignal("SIGINT", 130));
  process.on("SIGTERM", () => onSignal("SIGTERM", 143));

  progress(`state in ${stateDir}${tempDir !== undefined ? " (temporary)" : ""}`);
  try {
    stack = await startLocalStack({
      stateDir,
      demoKeys: true,
      // The immutable copy as in Azure: HTTPS, the app's managed identity (see LocalStackOptions.backupCopy).
      backupCopy: true,
      runner: args.once
        ? { port, clock: "virtual", scheduleTimers: false, startupTimers: false, log: true }
        : { port, clock: "real", log: true },
      log: progress,
      ...(args.verbose ? { childOutput: (source: string, line: string) => process.stderr.write(`[${source}] ${line}\n`) } : {}),
    });
  } catch (e) {
    progress(`could not start the local stack: ${(e as Error).message}`);
    return stop(2);
  }
  if (signalled !== undefined) return stop(signalled);
  const runner = stack.runner;
  if (runner === undefined) throw new Error("the local stack started without its runner");
  progress(`ready: runner ${runner.url}, settings ${stack.settingsFile}, children pids: ${stack.childPids().join(",")}`);

  if (!args.once) {
    published = { pid: process.pid, url: runner.url, settingsFile: stack.settingsFile };
    writeStackState(stateDir, { ...published, state: "running" });
    process.stdout.write(
      JSON.stringify({ event: "ready", url: runner.url, settingsFile: stack.settingsFile, instances: stack.urls, pids: [process.pid, ...stack.childPids()] }) + "\n",
    );
    const found = args.stateDir === undefined ? "" : `HSM_LIFECYCLE_STACK_FILE=${stackStateFile(stateDir)} `;
    progress(`the CLI finds this stack through ${stackStateFile(stateDir)}: try "${found}npx hsm-lifecycle status" in another terminal (repo root)`);
    if (args.initialCycle) {
      progress("firing every timer once (rotation sweep and backup, then the drill once the backup is verified); Ctrl-C stops everything");
      reportTerminal(stack);
      const [first, backup, drill] = timerPhases(runner);
      for (const name of first) await runner.fireTimer(name);
      // Real clock: rotations keep durable timers for their grace periods (days), so wait for the rotations
      // themselves and then the backups, not for every instance to end.
      await waitForNamed(runner, orchestrationNames.rotationSweep, 120_000);
      for (const name of backup) await runner.fireTimer(name);
      await waitForNamed(runner, orchestrationNames.hsmBackup, 180_000);
      for (const name of drill) await runner.fireTimer(name);
    }
    return new Promise<number>(() => undefined); // runs until a signal
  }

  progress(`one cycle: backup, then the drill, then every other timer (rotation sweep); waiting up to ${args.timeoutSeconds} s in all`);
  const timedOut = await new Promise<boolean>((resolvePromise) => {
    const timer = setTimeout(() => resolvePromise(true), args.timeoutSeconds * 1000);
    void (async () => {
      // Backup, then the drill, then the sweep and rotations. Not the nightly order on purpose: the runner's
      // virtual clock jumps over the rotations' grace-period timers (days), while the HSMs' job times stay real,
      // so a drill after the rotations would measure days of RPO that never passed.
      const [rest, backup, drill] = timerPhases(runner);
      for (const phase of [backup, drill, rest]) {
        for (const name of phase) await runner.fireTimer(name);
        await runner.waitForTerminal();
      }
    })().then(() => {
      clearTimeout(timer);
      resolvePromise(false);
    });
  });
  if (signalled !== undefined) return stop(signalled);
  const summary: RunSummary & { timedOut?: boolean; failures?: string[] } = cycleSummary(runner);
  const failures = outcomeFailures(summary);
  if (failures.length > 0) {
    summary.ok = false;
    summary.failures = failures;
  }
  if (timedOut) {
    summary.ok = false;
    summary.timedOut = true;
    progress(`timed out after ${args.timeoutSeconds} s; unfinished orchestrations count as failures`);
  }
  for (const i of summary.instances) progress(`${i.name} ${i.instanceId}: ${i.status}${i.error !== undefined ? ` — ${i.error.slice(0, 300)}` : outcomeOf(i.output)}`);
  process.stdout.write(JSON.stringify(summary) + "\n");
  progress(summary.ok ? `cycle passed: ${JSON.stringify(summary.counts)}` : `cycle FAILED: ${JSON.stringify(summary.counts)}`);
  return stop(summary.ok ? 0 : 1);
}

/**
 * The app's timer functions in three groups: every other timer (the rotation sweep), the backup, the drill.
 * The drill restores the newest VERIFIED backup, so it always comes after the backup; and the backup should
 * not run while rotations change the keys under it.
 */
function timerPhases(runner: Runner): [string[], string[], string[]] {
  const timers = [...runner.invoker.functions]
    .filter(([, fn]) => Object.values(fn.metadata.bindings).some((b) => b.type === "timerTrigger"))
    .map(([name]) => name);
  const late: string[] = [triggerNames.backupTimer, triggerNames.drillTimer];
  return [timers.filter((n) => !late.includes(n)), timers.filter((n) => n === triggerNames.backupTimer), timers.filter((n) => n === triggerNames.drillTimer)];
}

/**
 * Orchestrations that completed with a failed OUTCOME: expected failures are values in this app (a drill
 * with verdict "failed", a backup of kind "failed", a sweep listing failures), which the runtime reports as
 * Completed — a cycle with any of them is not a passing cycle.
 */
function outcomeFailures(summary: RunSummary): string[] {
  const out: string[] = [];
  for (const i of summary.instances) {
    const o = i.output;
    if (typeof o !== "object" || o === null) continue;
    const r = o as Record<string, unknown>;
    const failed = r["verdict"] === "failed" || r["kind"] === "failed" || (Array.isArray(r["failures"]) && r["failures"].length > 0);
    if (failed) out.push(`${i.instanceId}: ${JSON.stringify(r["failures"] ?? r["error"] ?? r["kind"]).slice(0, 500)}`);
  }
  return out;
}

/** Waits (at most `timeoutMs`) until every started instance named `name` is terminal. */
async function waitForNamed(runner: Runner, name: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const mine = cycleSummary(runner).instances.filter((i) => i.name === name);
    if (mine.length > 0 && mine.every((i) => i.status === "Completed" || i.status === "Failed" || i.status === "Terminated")) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  progress(`${name} did not finish within ${timeoutMs / 1000} s; firing the remaining timers anyway`);
}

/** A short human summary of an orchestration's output (verdict, kind, RTO/RPO, rotation outcomes). */
function outcomeOf(output: unknown): string {
  if (typeof output !== "object" || output === null) return "";
  const o = output as Record<string, unknown>;
  const parts: string[] = [];
  if (typeof o["verdict"] === "string") parts.push(`verdict ${o["verdict"]}`);
  else if (typeof o["kind"] === "string") parts.push(o["kind"]);
  if (typeof o["rtoMs"] === "number") parts.push(`RTO ${o["rtoMs"]} ms`);
  if (typeof o["rpoMs"] === "number") parts.push(`RPO ${o["rpoMs"]} ms`);
  if (typeof o["outcomes"] === "object" && o["outcomes"] !== null) parts.push(`outcomes ${JSON.stringify(o["outcomes"])}`);
  if (Array.isArray(o["failures"]) && o["failures"].length > 0) parts.push(`failures ${JSON.stringify(o["failures"]).slice(0, 300)}`);
  return parts.length > 0 ? ` — ${parts.join(", ")}` : "";
}

/** Progress: one stderr line per orchestration that reaches a terminal state. */
function reportTerminal(stack: LocalStack): void {
  const seen = new Set<string>();
  const timer = setInterval(() => {
    const runner = stack.runner;
    if (runner === undefined) return;
    for (const i of cycleSummary(runner).instances) {
      if (seen.has(i.instanceId) || (i.status !== "Completed" && i.status !== "Failed" && i.status !== "Terminated")) continue;
      seen.add(i.instanceId);
      progress(`${i.name} ${i.instanceId}: ${i.status}${i.error !== undefined ? ` — ${i.error.slice(0, 300)}` : outcomeOf(i.output)}`);
    }
  }, 1000);
  timer.unref();
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    progress(`failed: ${(e as Error)?.stack ?? String(e)}`);
    process.exit(2);
  },
);
