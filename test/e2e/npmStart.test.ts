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
