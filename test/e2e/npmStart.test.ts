/**
 * `npm start` = `node dist/dev/start.js` (after the build `npm test` runs first): no process is left behind,
 * neither after `--once` nor after SIGINT in the middle of a run; `--once` prints the runner's summary as the
 * only stdout line and its exit code follows the summary.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, it } from "vitest";
import { utcDay } from "../../dev/todaysRuns";
import { runCliProcess } from "../support/runCliProcess";

const START = resolve(__dirname, "../../dist/dev/start.js");
const spawned: ChildProcess[] = [];
const dirs: string[] = [];

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until none of `pids` exists (the children exit asynchronously after their parent). */
async function gone(pids: number[], withinMs = 10_000): Promise<number[]> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const left = pids.filter(alive);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Started {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first stderr line matching `re`. */
  waitForStderr(re: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
}

function startScript(args: string[]): Started {
  const child = spawn(process.execPath, [START, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  spawned.push(child);
  const stdout: string[] = [];
  const stderr: string[] = [];
  const waiters: Array<{ re: RegExp; resolve: (m: RegExpExecArray) => void }> = [];
  createInterface({ input: child.stdout! }).on("line", (l) => stdout.push(l));
  createInterface({ input: child.stderr! }).on("line", (l) => {
    stderr.push(l);
    for (const w of [...waiters]) {
      const m = w.re.exec(l);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once("exit", (code, signal) => r({ code, signal })));
  return {
    child,
    stdout,
    stderr,
    exited,
    waitForStderr: (re, timeoutMs) =>
      new Promise((resolvePromise, reject) => {
        const seen = stderr.map((l) => re.exec(l)).find((m) => m !== null);
        if (seen) return resolvePromise(seen);
        const timer = setTimeout(() => reject(new Error(`no stderr line matching ${re} within ${timeoutMs} ms:\n${stderr.slice(-30).join("\n")}`)), timeoutMs);
        waiters.push({ re, resolve: (m) => (clearTimeout(timer), resolvePromise(m)) });
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`start.js exited before a stderr line matched ${re}:\n${stderr.slice(-30).join("\n")}`));
        });
      }),
  };
}

afterAll(() => {
  for (const c of spawned) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("npm start (dist/dev/start.js)", () => {
  it("--once runs one cycle, prints only the summary JSON on stdout, exits by it and leaves no process behind", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "npm-start-once-"));
    dirs.push(stateDir);
    const run = startScript(["--once", "--state-dir", stateDir, "--timeout", "180"]);
    const ready = await run.waitForStderr(/children pids: (\d+),(\d+)/, 90_000);
    const pids = [Number(ready[1]), Number(ready[2])];
    const { code } = await run.exited;
    expect(run.stdout, run.stderr.slice(-40).join("\n")).toHaveLength(1);
    const summary = JSON.parse(run.stdout[0]!) as { event: string; ok: boolean; counts: Record<string, number>; instances: Array<{ name: string; status: string }> };
    expect(summary.event).toBe("summary");
    expect(summary.instances.length).toBeGreaterThan(0);
    expect(code).toBe(summary.ok ? 0 : 1);
    // Every workflow's timer fired: backup, drill and the rotation sweep each started an orchestration.
    expect(summary.instances.map((i) => i.name)).toEqual(expect.arrayContaining(["hsmBackup", "restoreDrill", "rotationSweep"]));
    expect(await gone([run.child.pid!, ...pids])).toEqual([]);
    // The state dir it was given is kept (only its own temporary dir is removed).
    expect(existsSync(join(stateDir, "local.settings.json"))).toBe(true);
  });

  it("--once again on the same state dir reuses the recorded ports and re-seeds only missing role assignments", async () => {
    const stateDir = dirs[0]!; // the first test's state, kept
    const portsBefore = readFileSync(join(stateDir, "stack-ports.json"), "utf8");
    const run = startScript(["--once", "--state-dir", stateDir, "--timeout", "180"]);
    const ready = await run.waitForStderr(/children pids: (\d+),(\d+)/, 90_000);
    const { code } = await run.exited;
    const summary = JSON.parse(run.stdout[0]!) as { ok: boolean };
    expect(code).toBe(summary.ok ? 0 : 1);
    expect(readFileSync(join(stateDir, "stack-ports.json"), "utf8")).toBe(portsBefore);
    const seeded = /rbac: (\d+) role assignments in place \((\d+) added\)/.exec(run.stderr.join("\n"));
    expect(seeded).not.toBeNull();
    expect(Number(seeded![2])).toBeLessThan(Number(seeded![1]));
    expect(await gone([run.child.pid!, Number(ready[1]), Number(ready[2])])).toEqual([]);
  });

  it("SIGINT in the middle of a run stops the runner, the emulator and Azurite", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "npm-start-sigint-"));
    dirs.push(stateDir);
    const run = startScript(["--state-dir", stateDir, "--port", "0"]);
    const ready = await run.waitForStderr(/children pids: (\d+),(\d+)/, 90_000);
    const pids = [Number(ready[1]), Number(ready[2])];
    // The initial cycle is under way: the timers have been fired.
    await run.waitForStderr(/firing every timer once/, 30_000);
    for (const pid of pids) expect(alive(pid)).toBe(true);
    run.child.kill("SIGINT");
    const { code } = await run.exited;
    expect(code).toBe(130);
    expect(run.stderr.join("\n")).toMatch(/emulator: stopped[\s\S]*azurite: stopped/);
    expect(await gone(pids)).toEqual([]);
    const readyLine = JSON.parse(run.stdout[0]!) as { event: string; pids: number[] };
    expect(readyLine.event).toBe("ready");
    expect(readyLine.pids).toEqual([run.child.pid, ...pids]);
  });

  it("the CLI finds the running stack through .local-stack/stack.json, and fails within seconds naming the URL once it stopped", async () => {
    const home = mkdtempSync(join(tmpdir(), "npm-start-cli-"));
    dirs.push(home);
    const stateDir = join(home, ".local-stack");
    const run = startScript(["--state-dir", stateDir, "--port", "0", "--no-initial-cycle"]);
    await run.waitForStderr(/the CLI finds this stack through/, 90_000);
    // stdout and stderr are separate pipes: the ready line may arrive just after the progress line.
    for (let i = 0; i < 100 && run.stdout.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    const ready = JSON.parse(run.stdout[0]!) as { url: string; settingsFile: string };
    const stackFile = join(stateDir, "stack.json");
    expect(JSON.parse(readFileSync(stackFile, "utf8"))).toMatchObject({ state: "running", pid: run.child.pid, url: ready.url, settingsFile: ready.settingsFile });

    // No --settings, no --app-url, nothing in the environment: the CLI run from the folder holding .local-stack/.
    const status = await runCliProcess(["status"], {}, { cwd: home });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stderr).toContain(`using the local stack of ${stackFile}: settings ${ready.settingsFile}, app ${ready.url}`);
    expect(status.stdout).toMatch(/primary\s+token-signing\s+expired/);
    // A command that calls the app reaches the stack's runner (its port is not 7071).
    const dry = await runCliProcess(["rotate", "--instance", "primary", "--key", "pay-signing", "--dry-run"], {}, { cwd: home });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/would rotate primary\/pay-signing/);

    run.child.kill("SIGINT");
    expect((await run.exited).code).toBe(130);
    expect(JSON.parse(readFileSync(stackFile, "utf8"))).toMatchObject({ state: "stopped" });
    const afterStop = await runCliProcess(["status"], {}, { cwd: home });
    expect(afterStop.code).toBe(1);
    expect(afterStop.stderr).toContain(`the local stack recorded in ${stackFile} is not running; start it with "npm start"`);
    const started = Date.now();
    const backup = await runCliProcess(["backup", "--settings", ready.settingsFile, "--app-url", ready.url]);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(backup.code).toBe(1);
    expect(backup.stderr).toContain(`[Unavailable] The function app at ${ready.url} did not answer (ECONNREFUSED). Fix: start it (locally "npm start"`);
  });

  it("SIGKILL of start.js still takes its children down (lifeline)", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "npm-start-kill-"));
    dirs.push(stateDir);
    const run = startScript(["--state-dir", stateDir, "--port", "0", "--no-initial-cycle"]);
    const ready = await run.waitForStderr(/children pids: (\d+),(\d+)/, 90_000);
    const pids = [Number(ready[1]), Number(ready[2])];
    run.child.kill("SIGKILL");
    await run.exited;
    expect(await gone(pids)).toEqual([]);
  });

  it("refuses unknown flags with exit code 2 and starts nothing", async () => {
    const run = startScript(["--bogus"]);
    const { code } = await run.exited;
    expect(code).toBe(2);
    expect(run.stderr.join("\n")).toMatch(/Unknown argument "--bogus"/);
    expect(run.stdout).toEqual([]);
  });
});

describe("npm start's console (a person at the terminal)", () => {
  // Its own state (created at collection, so not in `dirs`, whose first entry the tests above share).
  const stateDir = mkdtempSync(join(tmpdir(), "npm-start-console-"));
  afterAll(() => rmSync(stateDir, { recursive: true, force: true }));
  /** What the first cycle showed, for the second start to be compared with, and the state it ran on. */
  let first: { day: string; backupLine: string; drillLine: string; rotationLine: string; report: string; stateDir: string } | undefined;

  /** The closing block: from "today's cycle (DAY): VERDICT" to the log file line (with --verbose: to the end). */
  const closingBlock = (stderr: string[]): { day: string; verdict: string; lines: string[] } => {
    const at = stderr.findIndex((l) => /today's cycle \(\d{4}-\d\d-\d\d\): /.test(l));
    expect(at, stderr.join("\n")).toBeGreaterThanOrEqual(0);
    const head = /today's cycle \((\d{4}-\d\d-\d\d)\): (.+)$/.exec(stderr[at]!)!;
    const end = stderr.findIndex((l, i) => i > at && /host and function logs: /.test(l));
    return { day: head[1]!, verdict: head[2]!, lines: stderr.slice(at + 1, end < 0 ? undefined : end + 1).map((l) => l.replace(/^\[start\]\s+/, "")) };
  };
  const lineStarting = (lines: string[], prefix: string): string => {
    const found = lines.find((l) => l.startsWith(prefix));
    expect(found, lines.join("\n")).toBeDefined();
    return found!;
  };

  /**
   * A `--once` cycle that ran within one UTC day. "Today" is the machine's UTC date: start.js names the cycle's
   * day as it begins and each of the app's timers names its run by the day it fires on, so a cycle across
   * midnight mixes two days. Such a cycle is run once more on a fresh state dir, which lies within the new day
   * (the next midnight is a day away).
   */
  const onceWithinOneDay = async (dir: string, extra: string[] = []): Promise<{ run: Started; code: number | null; stateDir: string }> => {
    for (let attempt = 1; ; attempt++) {
      const dayBefore = utcDay(new Date());
      const run = startScript(["--once", ...extra, "--state-dir", dir, "--timeout", "180"]);
      const { code } = await run.exited;
      if (utcDay(new Date()) === dayBefore || attempt === 2) return { run, code, stateDir: dir };
      dir = mkdtempSync(join(tmpdir(), "npm-start-again-"));
      dirs.push(dir);
    }
  };
  /** What a passing `--once` cycle's closing block showed. */
  const cycleShown = (stderr: string[], dir: string): NonNullable<typeof first> => {
    const closing = closingBlock(stderr);
    expect(closing.verdict, stderr.join("\n")).toBe("passed");
    const report = /^report: (.+\.html)$/.exec(lineStarting(closing.lines, "report: "))![1]!;
    return {
      day: closing.day,
      rotationLine: lineStarting(closing.lines, "rotation: "),
      backupLine: lineStarting(closing.lines, "backup: "),
      drillLine: lineStarting(closing.lines, "drill: "),
      report,
      stateDir: dir,
    };
  };
  /** A start (real clock) on `dir` until its closing summary, then stopped by SIGINT. */
  const secondStart = async (dir: string): Promise<{ stderr: string[]; closing: ReturnType<typeof closingBlock>; logFile: string }> => {
    const run = startScript(["--state-dir", dir, "--port", "0"]);
    // Generous bound only so a broken build cannot hang the suite; the assertions are on what happened.
    await run.waitForStderr(/the stack keeps running/, 150_000);
    const closing = closingBlock(run.stderr);
    const logFile = /^host and function logs: (\S+\.log)$/.exec(closing.lines.at(-1)!)![1]!;
    run.child.kill("SIGINT");
    expect((await run.exited).code).toBe(130);
    return { stderr: run.stderr, closing, logFile };
  };

  it("--once shows what each workflow verified, the drill verdict and report, a closing summary, and keeps host logs in the printed file", { timeout: 240_000 }, async () => {
    const { run, code, stateDir: cycleDir } = await onceWithinOneDay(stateDir);
    const consoleText = run.stderr.join("\n");
    expect(code, consoleText).toBe(0);
    const summary = JSON.parse(run.stdout[0]!) as { ok: boolean; instances: Array<{ name: string; output?: any }> };
    expect(summary.ok).toBe(true);
    const sweep = summary.instances.find((i) => i.name === "rotationSweep")!.output as { outcomes: { rotated?: number } };
    const backup = summary.instances.find((i) => i.name === "hsmBackup")!.output as { folder: string; blobCount: number };
    const drill = summary.instances.find((i) => i.name === "restoreDrill")!.output as { verdict: string; drillId: string };

    // A pipe gets plain lines: no cursor movement, no colours.
    expect(consoleText).not.toMatch(/\u001b\[/);
    const closing = closingBlock(run.stderr);
    const shown = cycleShown(run.stderr, cycleDir);
    // Progress while it ran, before the closing summary: each workflow's line as it ended (backup first, then
    // the drill, then the rotations: the order --once fires them in).
    const progressLines = run.stderr.slice(0, run.stderr.findIndex((l) => l.includes("today's cycle ("))).map((l) => l.replace(/^\[start\] /, ""));
    const shownAt = (line: string): number => progressLines.indexOf(line);
    // The numbers are the runs' own: as many rotations verified as the sweep rotated, the backup's folder and
    // blob count as its verification found them, the drill's verdict with its RTO against the target.
    const rotated = sweep.outcomes.rotated ?? 0;
    expect(rotated).toBeGreaterThan(0);
    const { rotationLine, backupLine, drillLine, report } = shown;
    expect(rotationLine).toBe(`rotation: ${rotated} keys rotated, ${rotated} verified`);
    expect(backup.blobCount).toBeGreaterThan(0);
    expect(backupLine).toBe(`backup: ${backup.folder} verified, ${backup.blobCount} blobs`);
    expect(drill.verdict).toBe("passed");
    expect(drillLine).toMatch(/^drill: passed, RTO [\d a-z]+ \/ target 4 h, RPO [\d a-z]+ \/ target 1 d 2 h$/);
    // The report is a local file a person can open: the drill's own HTML report.
    expect(readFileSync(report, "utf8")).toContain(drill.drillId);

    // Host and function logs are not on the console but in the file it names.
    const logFile = /^host and function logs: (\S+\.log)$/.exec(closing.lines.at(-1)!)![1]!;
    expect(consoleText).toContain(`host and function logs: ${logFile} (--verbose shows them here instead)`);
    const logText = readFileSync(logFile, "utf8");
    for (const hostLine of [/Executing 'Functions\.backupTimer'/, /\[drillTimer\] \[information\] \(Id=/, /\[azurite\] Azurite Blob service/]) {
      expect(logText).toMatch(hostLine);
      expect(consoleText).not.toMatch(hostLine);
    }
    expect(consoleText).not.toMatch(/Executing 'Functions\.|\(Id=[0-9a-f-]+\)|\[azurite\]|\[emulator\]/);
    expect(shownAt(backupLine)).toBeGreaterThan(-1);
    expect(shownAt(drillLine)).toBeGreaterThan(shownAt(backupLine));
    expect(shownAt(rotationLine)).toBeGreaterThan(shownAt(drillLine));
    first = shown;
  });

  it("a second start on the same state shows the day's results at once: the timers start nothing and nothing is waited for", { timeout: 240_000 }, async () => {
    expect(first, "the --once cycle above must have run").toBeDefined();
    let { stderr, closing, logFile } = await secondStart(first!.stateDir);
    if (utcDay(new Date()) !== first!.day) {
      // Midnight UTC fell between the first cycle and the end of this start, whose timers may then have begun
      // the next day's cycle: both run again on a fresh state dir, within the new day (the next midnight is a
      // day away), so the comparison below is always between two starts on one day.
      const dir = mkdtempSync(join(tmpdir(), "npm-start-again-"));
      dirs.push(dir);
      const again = await onceWithinOneDay(dir);
      expect(again.code, again.run.stderr.join("\n")).toBe(0);
      first = cycleShown(again.run.stderr, again.stateDir);
      ({ stderr, closing, logFile } = await secondStart(first.stateDir));
    }

    // Same UTC day as the first cycle: the runs it shows are that cycle's.
    expect(closing.day).toBe(first!.day);
    expect(closing.verdict).toBe("passed");
    // The day's results, marked as earlier runs: the same backup folder and the same drill, not new runs.
    expect(lineStarting(closing.lines, "rotation: ")).toBe(`${first!.rotationLine} (ran earlier today)`);
    expect(lineStarting(closing.lines, "backup: ")).toBe(`${first!.backupLine} (ran earlier today)`);
    expect(lineStarting(closing.lines, "drill: ")).toBe(`${first!.drillLine} (ran earlier today)`);
    expect(lineStarting(closing.lines, "report: ")).toBe(`report: ${first!.report}`);
    // Each timer found today's run done and started nothing (the app's own log lines say so) …
    const logText = readFileSync(logFile, "utf8");
    expect(logText).toMatch(new RegExp(`rotation sweep sweep:${first!.day}:\\S+ already ran today; not started again`));
    expect(logText).toContain(`nightly backup backup:primary:${first!.day}: skipped (backup backup:primary:${first!.day} is already Completed)`);
    expect(logText).toContain(`drillTimer: drill:primary:dr:${first!.day} already started today.`);
    // … and start.js waited for none of those skipped runs: no wait ran out, no run is shown as still going.
    const consoleText = stderr.join("\n");
    expect(consoleText).not.toMatch(/still running after|did not finish within/);
    const workflowLines = stderr.filter((l) => /^\[start\]\s+(rotation|backup|drill): /.test(l));
    expect(workflowLines.length).toBeGreaterThanOrEqual(3);
    expect(workflowLines.filter((l) => /\brunning\b|not started yet/.test(l))).toEqual([]);
  });

  it("--verbose streams the host and function logs to the console as before, and writes no log file", { timeout: 240_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "npm-start-verbose-"));
    dirs.push(dir);
    const { run, code, stateDir: verboseDir } = await onceWithinOneDay(dir, ["--verbose"]);
    const consoleText = run.stderr.join("\n");
    expect(code, consoleText).toBe(0);
    expect(consoleText).toMatch(/Executing 'Functions\.backupTimer'/);
    expect(consoleText).toMatch(/^\[azurite\] Azurite Blob service/m);
    expect(consoleText).not.toContain("host and function logs:");
    expect(existsSync(join(verboseDir, "logs"))).toBe(false);
    // The closing summary is there all the same.
    expect(closingBlock(run.stderr).verdict).toBe("passed");
  });
});
