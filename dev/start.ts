/**
 * `npm start` (= `node scripts/buildWithProgress.mjs && node dist/dev/start.js`: tsc with an elapsed-time line, then this): the whole app on the local stack.
 *
 *   node dist/dev/start.js [--state-dir DIR] [--port N] [--no-initial-cycle] [--verbose]
 *   node dist/dev/start.js --once [--state-dir DIR] [--timeout SECONDS] [--verbose]
 *
 * Default mode: Azurite + emulator + the runner with this app on port 7071 (a free port if 7071 is taken),
 * real clock, timers on their schedules; demo keys and role assignments seeded; every workflow fired once at
 * start so the demo shows rotations, a backup and a drill at once. State in `.local-stack/` (kept across runs);
 * STATE/stack.json names the runner URL and settings file for the CLI while the stack runs ("stopped" after).
 * Progress goes to stderr; a JSON ready line goes to stdout. Ctrl-C / SIGTERM stop every child cleanly.
 * On a terminal the progress is a live view (dev/startView.ts): the step under way, one line per workflow
 * of the day (rotation, backup, drill: what was verified), then a closing summary with the drill report
 * fetched to STATE/reports/ and any warning; on a pipe the same lines come as plain text. Host and function
 * logs (runner, context.log, Azurite, emulator, console) go to STATE/logs/start-*.log, whose path is printed,
 * unless --verbose streams them to stderr. The workflows' lines come from the day's runs in the durable store,
 * so on a stack that already ran today the timers start nothing and the day's results are shown at once.
 *
 * `--once`: one full cycle on a fresh stack (a temporary state dir unless --state-dir is given) with the
 * runner's virtual clock (durable timers — grace periods, polls — fire as soon as the app is idle): fire the
 * backup timer, then the drill timer, then every other timer, each time waiting for every orchestration to
 * reach a terminal state; print the runner's summary JSON line on stdout; exit 0 only if nothing failed
 * (1 on failures or timeout, 2 if the stack could not start). Its logs and report then go to a kept
 * temporary folder (hsm-lifecycle-start-*), whose paths are printed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { format } from "node:util";
import type { Runner, RunSummary } from "../runner/index";
import { triggerNames } from "../shared/names";
import { cycleSummary } from "./cycleSummary";
import { DayProgress } from "./dayProgress";
import { openHostLogFile } from "./hostLogFile";
import { repoRoot, startLocalStack, type LocalStack } from "./localStack";
import { stackStateFile, writeStackState } from "./stackStateFile";
import { createStartView } from "./startView";

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
  let args: StartArgs;
  try {
    args = parseStartArgs(process.argv.slice(2));
  } catch (e) {
    progress((e as Error).message);
    return 2;
  }
  const tempDir = args.once && args.stateDir === undefined ? mkdtempSync(join(tmpdir(), "hsm-lifecycle-once-")) : undefined;
  const stateDir = args.stateDir ?? tempDir ?? join(repoRoot(), ".local-stack");
  // Logs and fetched reports outlive a temporary state dir (removed at exit), so they go beside it then.
  const keepDir = tempDir === undefined ? stateDir : mkdtempSync(join(tmpdir(), "hsm-lifecycle-start-"));
  const hostLog = args.verbose ? undefined : openHostLogFile(join(keepDir, "logs", `start-${new Date().toISOString().replace(/[:.]/g, "-")}.log`));
  const view = await createStartView({ live: process.stderr.isTTY === true && !args.verbose });
  // stdout carries only the JSON lines (ready / summary). The app's and libraries' console output is host log:
  // in the log file, or with --verbose on stderr as before.
  for (const method of ["log", "info", "debug", "warn", "error"] as const) {
    if (hostLog !== undefined) console[method] = (...parts: unknown[]) => hostLog.line("console", format(...parts));
    else if (method !== "warn" && method !== "error") console[method] = (...parts: unknown[]) => process.stderr.write(format(...parts) + "\n");
  }
  const note = (line: string): void => {
    hostLog?.line("start", line);
    view.note(line);
  };
  const port = args.port ?? (args.once ? 0 : (await portFree(7071)) ? 7071 : 0);

  let stack: LocalStack | undefined;
  /** What STATE/stack.json says while this stack runs (the CLI finds the stack through it). */
  let published: { pid: number; url: string; settingsFile: string } | undefined;
  let stopping: Promise<number> | undefined;
  const stop = (code: number): Promise<number> =>
    (stopping ??= (async () => {
      if (stack !== undefined) {
        if (published !== undefined) writeStackState(stateDir, { ...published, state: "stopped" });
        view.step("stopping the runner, the emulator and Azurite");
        await stack.close().catch((e: unknown) => note(`stop failed: ${(e as Error).message}`));
        view.clear();
        note("stopped");
      }
      hostLog?.close();
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
    note(`${signal} received`);
    // While the stack is still starting, main() stops it as soon as startLocalStack returns.
    if (stack !== undefined) void stop(code).then((c) => process.exit(c));
  };
  process.on("SIGINT", () => onSignal("SIGINT", 130));
  process.on("SIGTERM", () => onSignal("SIGTERM", 143));

  note(`state in ${stateDir}${tempDir !== undefined ? " (temporary)" : ""}`);
  if (hostLog !== undefined) note(`host and function logs: ${hostLog.file} (--verbose shows them here instead)`);
  try {
    stack = await startLocalStack({
      stateDir,
      demoKeys: true,
      // The immutable copy as in Azure: HTTPS, the app's managed identity (see LocalStackOptions.backupCopy).
      backupCopy: true,
      runner: args.once
        ? { port, clock: "virtual", scheduleTimers: false, startupTimers: false, log: hostLog?.runnerLogger ?? true }
        : { port, clock: "real", log: hostLog?.runnerLogger ?? true },
      log: (line) => {
        hostLog?.line("stack", line);
        if (line.includes("WARNING")) view.note(line);
        else view.step(line);
      },
      childOutput: (source: string, line: string) => (hostLog !== undefined ? hostLog.line(source, line) : process.stderr.write(`[${source}] ${line}\n`)),
    });
  } catch (e) {
    view.clear();
    note(`could not start the local stack: ${(e as Error).message}`);
    if (hostLog !== undefined) note(`details in ${hostLog.file}`);
    return stop(2);
  }
  if (signalled !== undefined) return stop(signalled);
  const runner = stack.runner;
  if (runner === undefined) throw new Error("the local stack started without its runner");
  view.clear();
  note(`ready: runner ${runner.url}, settings ${stack.settingsFile}, children pids: ${stack.childPids().join(",")}`);
  const day = new DayProgress(stack, runner, view, keepDir, note);

  if (!args.once) {
    published = { pid: process.pid, url: runner.url, settingsFile: stack.settingsFile };
    writeStackState(stateDir, { ...published, state: "running" });
    process.stdout.write(
      JSON.stringify({ event: "ready", url: runner.url, settingsFile: stack.settingsFile, instances: stack.urls, pids: [process.pid, ...stack.childPids()] }) + "\n",
    );
    const found = args.stateDir === undefined ? "" : `HSM_LIFECYCLE_STACK_FILE=${stackStateFile(stateDir)} `;
    note(`the CLI finds this stack through ${stackStateFile(stateDir)}: try "${found}npx hsm-lifecycle status" in another terminal (repo root)`);
    if (args.initialCycle) {
      note("firing every timer once (rotation sweep and backup, then the drill once the backup is verified); Ctrl-C stops everything");
      const [first, backup, drill] = timerPhases(runner);
      day.begin();
      for (const name of first) await runner.fireTimer(name);
      // Real clock: rotations keep durable timers for their grace periods (days), so wait for the sweep (which
      // ends when its rotations are verified) and then the backups, not for every instance to end. Today's runs
      // are read from the durable store: one that already finished today is a result, not something to wait for.
      await day.settle("rotation", 120_000, "firing the backup anyway");
      for (const name of backup) await runner.fireTimer(name);
      await day.settle("backup", 180_000, "firing the drill anyway");
      for (const name of drill) await runner.fireTimer(name);
      await day.settle("drill", undefined, "");
      await day.close(hostLog?.file);
      note("the stack keeps running: timers fire on their schedules; Ctrl-C stops everything");
    }
    return new Promise<number>(() => undefined); // runs until a signal
  }

  note(`one cycle: backup, then the drill, then every other timer (rotation sweep); waiting up to ${args.timeoutSeconds} s in all`);
  day.begin();
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
        day.show();
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
    note(`timed out after ${args.timeoutSeconds} s; unfinished orchestrations count as failures`);
  }
  for (const i of summary.instances) hostLog?.line("start", `${i.name} ${i.instanceId}: ${i.status}${i.error !== undefined ? ` — ${i.error.slice(0, 300)}` : outcomeOf(i.output)}`);
  await day.close(hostLog?.file);
  process.stdout.write(JSON.stringify(summary) + "\n");
  note(summary.ok ? `cycle passed: ${JSON.stringify(summary.counts)}` : `cycle FAILED: ${JSON.stringify(summary.counts)}`);
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

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    progress(`failed: ${(e as Error)?.stack ?? String(e)}`);
    process.exit(2);
  },
);
