/**
 * Singletons under concurrency on a fresh local stack (runner on a virtual clock + emulator + Azurite): a burst
 * of backup requests and a burst of drill requests, through the app's HTTP starters and the real CLI at once.
 * Exactly one backup job and one drill run; every other caller is told which run is going (409 naming it and
 * its status path, or the CLI following it to its verdict); no instance fails.
 *
 * Storage is frozen (SIGSTOP) while a burst is in flight so the winner stays Running at its first storage call
 * however slow this machine is: the requests contend for a run that is certainly still going.
 */
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "../../dev/localStack";
import { auditOf, startDrillTestStack, writesIn, type DrillTestStack } from "./drillStackSupport";

const BIN = resolve(__dirname, "../../bin/hsm-lifecycle.js");

let world: DrillTestStack;
let stack: LocalStack;

beforeAll(async () => {
  world = await startDrillTestStack("singletons-e2e-", { RTO_TARGET: "PT1H", RPO_TARGET: "P1D" });
  stack = world.stack;
}, 180_000);

afterAll(async () => {
  await world?.close();
});

interface Answer {
  status: number;
  body: any;
  location: string | null;
}

async function post(route: string, body: unknown): Promise<Answer> {
  const res = await fetch(`${stack.runner!.url}/api/${route}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text === "" ? undefined : JSON.parse(text), location: res.headers.get("location") };
}

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The real CLI as a child process, configured only by the stack's settings file. */
function cli(args: string[]): { started: Promise<void>; done: Promise<CliRun> } {
  const child = spawn(process.execPath, [BIN, ...args, "--json", "--settings", stack.settingsFile, "--app-url", stack.runner!.url], { env: { PATH: process.env["PATH"] ?? "" }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let markPosted: () => void = () => undefined;
  // The CLI has posted once it prints its first line about the run (started / following).
  const started = new Promise<void>((r) => (markPosted = r));
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString("utf8");
    if (/: (started|already )/.test(stderr)) markPosted();
  });
  const done = new Promise<CliRun>((res, rej) => {
    child.on("error", rej);
    child.on("close", (code) => {
      markPosted();
      res({ code, stdout, stderr });
    });
  });
  return { started, done };
}

/** Runs `burst` with storage frozen, so the run that wins stays Running until every request was answered. */
async function withStorageFrozen<T>(burst: () => Promise<T>): Promise<T> {
  process.kill(stack.azurite.pid, "SIGSTOP");
  try {
    return await burst();
  } finally {
    process.kill(stack.azurite.pid, "SIGCONT");
  }
}

function expectToldTheRun(answers: Answer[], winner: string): void {
  for (const a of answers.filter((x) => x.status !== 202)) {
    expect(a.status, JSON.stringify(a.body)).toBe(409);
    expect(a.body.error).toMatchObject({ code: "Conflict", runningInstanceId: winner, statusPath: `/api/runs/${encodeURIComponent(winner)}` });
    expect(a.location).toBe(a.body.error.statusPath);
    expect(["Pending", "Running"]).toContain(a.body.error.runtimeStatus);
  }
}

describe("singletons under concurrency (HTTP starters and CLI)", () => {
  it("50 concurrent backup requests (45 HTTP, 5 CLI): one backup job, every caller told which run is going, no failed instance", async () => {
    const since = new Date().toISOString();
    const { answers, clis } = await withStorageFrozen(async () => {
      const clis = Array.from({ length: 5 }, () => cli(["backup", "--hsm", "primary"]));
      const answers = await Promise.all(Array.from({ length: 45 }, () => post("backups", { hsm: "primary" })));
      await Promise.all(clis.map((c) => c.started));
      return { answers, clis };
    });
    // The virtual clock fires the run's durable timers while the runner is waited on; the CLIs follow it meanwhile.
    await stack.runner!.waitForTerminal();
    const runs = await Promise.all(clis.map((c) => c.done));
    const backups = stack.runner!.host.list().filter((i) => i.name === "hsmBackup");
    expect(backups.map((b) => b.instanceId)).toEqual([expect.stringMatching(/^backup:primary:\d{4}-\d{2}-\d{2}$/)]);
    const winner = backups[0]!.instanceId;
    const startedByHttp = answers.filter((a) => a.status === 202);
    const startedByCli = runs.filter((r) => r.stderr.includes(`${winner}: started`));
    expect(startedByHttp.length + startedByCli.length).toBe(1);
    for (const a of startedByHttp) expect(a.body.runs).toEqual([expect.objectContaining({ id: winner, hsmName: "primary", action: "started", statusPath: `/api/runs/${encodeURIComponent(winner)}` })]);
    expectToldTheRun(answers, winner);
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0);
      if (!r.stderr.includes(`${winner}: started`)) expect(r.stderr).toContain(`${winner}: already `);
      expect(JSON.parse(r.stdout).backups).toEqual([expect.objectContaining({ instanceId: winner, runtimeStatus: "Completed", ok: true })]);
    }
    expect(stack.runner!.host.get(winner)?.runtimeStatus).toBe("Completed");
    expect(stack.runner!.host.list().filter((i) => i.runtimeStatus !== "Completed").map((i) => `${i.instanceId} ${i.runtimeStatus}`)).toEqual([]);
    // The HSM saw one backup job.
    expect(writesIn(await auditOf(stack, "primary", since)).filter((op) => op === "BackupCreate")).toHaveLength(1);
  }, 240_000);

  it("10 concurrent drill requests (7 HTTP, 3 CLI): one drill, every caller told which drill is going, no failed instance", async () => {
    const since = new Date().toISOString();
    const { answers, clis } = await withStorageFrozen(async () => {
      const clis = Array.from({ length: 3 }, () => cli(["drill", "--pair", "primary=dr"]));
      const answers = await Promise.all(Array.from({ length: 7 }, (_, i) => post("drills", i % 2 === 0 ? { pair: "primary=dr" } : { pair: "primary=dr", mode: "selective", keyName: "pay-signing" })));
      await Promise.all(clis.map((c) => c.started));
      return { answers, clis };
    });
    await stack.runner!.waitForTerminal();
    const runs = await Promise.all(clis.map((c) => c.done));
    const drills = stack.runner!.host.list().filter((i) => i.name === "restoreDrill" || i.name === "selectiveRestoreDrill");
    expect(drills).toHaveLength(1);
    const winner = drills[0]!.instanceId;
    const startedByHttp = answers.filter((a) => a.status === 202);
    const startedByCli = runs.filter((r) => r.stderr.includes(`${winner}: started`));
    expect(startedByHttp.length + startedByCli.length).toBe(1);
    for (const a of startedByHttp) expect(a.body.id).toBe(winner);
    expectToldTheRun(answers, winner);
    for (const a of answers.filter((x) => x.status === 409)) expect(a.body.error.message).toMatch(new RegExp(`^\\[Conflict\\] Drill ${winner} is still running on dr`));
    const final = stack.runner!.host.get(winner)!;
    expect(final.runtimeStatus).toBe("Completed");
    const verdict = (JSON.parse(final.output ?? "null") as { verdict?: string; failures?: string[] } | null) ?? {};
    expect(verdict.verdict, JSON.stringify(verdict.failures)).toBe("passed");
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ drillId: winner, runtimeStatus: "Completed", output: { verdict: "passed" } });
    }
    expect(stack.runner!.host.list().filter((i) => i.runtimeStatus !== "Completed").map((i) => `${i.instanceId} ${i.runtimeStatus}`)).toEqual([]);
    // DR backed itself up and was restored once.
    const drWrites = writesIn(await auditOf(stack, "dr", since));
    expect(drWrites.filter((op) => op === "Restore" || op === "SelectiveKeyRestore")).toHaveLength(1);
  }, 300_000);

  it("drills one after the other get distinct ids: the second neither collides with nor replaces the first", async () => {
    const first = await post("drills", { pair: "primary=dr" });
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    await stack.runner!.waitForTerminal();
    const second = await post("drills", { pair: "primary=dr" });
    expect(second.status, JSON.stringify(second.body)).toBe(202);
    expect(second.body.id).not.toBe(first.body.id);
    await stack.runner!.waitForTerminal();
    expect(stack.runner!.host.get(first.body.id)?.runtimeStatus).toBe("Completed");
    expect(stack.runner!.host.get(second.body.id)?.runtimeStatus).toBe("Completed");
  }, 240_000);
});
