/**
 * Attack: a caller allowed to start a drill (a function key of `drillHttp`) reads the 202 answer. With durable's
 * `createCheckStatusResponse` that answer carried the Durable extension's system key (`…?code=…`), which starts,
 * terminates and purges ANY orchestration. And the CLI needed the host master key.
 *
 * In front of the local runner sits a gateway that enforces Azure's key rules (function keys for `/api/…`, the
 * system or master key for the Durable webhooks, the master key for `/admin/…`). The starters' answers carry no
 * key of any kind, only run ids and `/api/runs/{id}` status paths; the CLI backs up an HSM end to end holding
 * only the two function keys it needs, and never calls an endpoint that would need more.
 * Build first (`npx tsc -p tsconfig.json`).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack, type LocalStack } from "../../dev/localStack";
import { triggerNames } from "../../shared/names";
import { runCliProcess, type CliRun } from "../support/runCliProcess";
import { startFunctionKeyGateway, type FunctionKeyGateway, type GatewayKeys } from "./functionKeyGateway";

const key = (): string => randomBytes(24).toString("base64url");
const keys: GatewayKeys = {
  functionKeys: { [triggerNames.drillHttp]: key(), [triggerNames.backupHttp]: key(), [triggerNames.rotationHttp]: key(), [triggerNames.runStatusHttp]: key() },
  hostKey: key(),
  systemKey: key(),
  masterKey: key(),
};
const secrets = [keys.hostKey, keys.systemKey, keys.masterKey, ...Object.values(keys.functionKeys)];

let stack: LocalStack;
let gateway: FunctionKeyGateway;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sec-starter-keys-"));
  stack = await startLocalStack({ stateDir: dir, demoKeys: true, azuriteInMemory: true, runner: { clock: "real", scheduleTimers: false, startupTimers: false } });
  gateway = await startFunctionKeyGateway(stack.runner!.url, keys, [
    { method: "POST", route: /^drills$/, functionName: triggerNames.drillHttp },
    { method: "POST", route: /^backups$/, functionName: triggerNames.backupHttp },
    { method: "POST", route: /^rotations$/, functionName: triggerNames.rotationHttp },
    { method: "GET", route: /^runs\/[^/]+$/, functionName: triggerNames.runStatusHttp },
  ]);
}, 120_000);

afterAll(async () => {
  await gateway?.close();
  await stack?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}, 60_000);

async function post(route: string, functionName: string, body: unknown): Promise<{ status: number; headers: Record<string, string>; text: string }> {
  const res = await fetch(`${gateway.url}/api/${route}`, { method: "POST", headers: { "content-type": "application/json", "x-functions-key": keys.functionKeys[functionName]! }, body: JSON.stringify(body) });
  return { status: res.status, headers: Object.fromEntries(res.headers), text: await res.text() };
}

/** What a caller could lift from an answer: no key, no `code=`, no Durable webhook URL. */
function expectNoKeys(answer: { headers: Record<string, string>; text: string }, what: string): void {
  const everything = `${JSON.stringify(answer.headers)}\n${answer.text}`;
  for (const s of secrets) expect(everything.includes(s), `${what} leaks a key`).toBe(false);
  expect(everything, what).not.toMatch(/[?&]code=|systemKey|taskHub=|\/runtime\/webhooks\//i);
}

function cli(args: string[], env: Record<string, string>): Promise<CliRun> {
  return runCliProcess([...args, "--settings", stack.settingsFile, "--app-url", gateway.url], env);
}

describe("HTTP starters hand out no keys; the CLI needs no master key", () => {
  it("control: the Durable HTTP API refuses a function key (it needs the system or master key)", async () => {
    const res = await fetch(`${gateway.url}/runtime/webhooks/durabletask/instances`, { headers: { "x-functions-key": keys.functionKeys[triggerNames.drillHttp]! } });
    expect(res.status).toBe(401);
  });

  it("POST /api/drills answers the drill id and its status path only; the status path shows no input and no keys", async () => {
    const started = await post("drills", triggerNames.drillHttp, { mode: "full" });
    console.info(`202 of POST /api/drills: headers ${JSON.stringify(started.headers)} body ${started.text}`);
    expect(started.status).toBe(202);
    expectNoKeys(started, "POST /api/drills");
    const body = JSON.parse(started.text) as { id: string; statusPath: string };
    expect(Object.keys(body).sort()).toEqual(["id", "statusPath"]);
    expect(body.statusPath).toBe(`/api/runs/${encodeURIComponent(body.id)}`);
    expect(started.headers["location"]).toBe(body.statusPath);

    await stack.runner!.waitForTerminal([body.id]);
    const status = await fetch(`${gateway.url}${body.statusPath}`, { headers: { "x-functions-key": keys.functionKeys[triggerNames.runStatusHttp]! } });
    const statusAnswer = { headers: Object.fromEntries(status.headers), text: await status.text() };
    expect(status.status).toBe(200);
    expectNoKeys(statusAnswer, "GET /api/runs/{id}");
    const run = JSON.parse(statusAnswer.text) as Record<string, unknown>;
    expect(run).toMatchObject({ name: "restoreDrill", instanceId: body.id, runtimeStatus: "Completed" });
    expect(run).not.toHaveProperty("input");
    expect(run).not.toHaveProperty("historyEvents");
  }, 120_000);

  it("POST /api/rotations answers run ids and status paths only", async () => {
    const started = await post("rotations", triggerNames.rotationHttp, { keys: [{ instance: "primary", name: "no-such-key", version: "0123456789abcdef0123456789abcdef" }] });
    expect(started.status, started.text).toBe(202);
    expectNoKeys(started, "POST /api/rotations");
    const { runs } = JSON.parse(started.text) as { runs: Array<{ id: string; statusPath: string }> };
    expect(runs).toHaveLength(1);
    expect(runs[0]?.statusPath).toBe(`/api/runs/${encodeURIComponent(runs[0]?.id ?? "")}`);
    await stack.runner!.waitForTerminal([runs[0]!.id]);
  }, 60_000);

  it("the CLI backs up an HSM holding only the backupHttp and runStatusHttp function keys, and calls nothing else", async () => {
    gateway.requests.length = 0;
    const run = await cli(["backup", "--hsm", "primary", "--json"], {
      HSM_LIFECYCLE_FUNCTION_KEY_BACKUPHTTP: keys.functionKeys[triggerNames.backupHttp]!,
      HSM_LIFECYCLE_FUNCTION_KEY_RUNSTATUSHTTP: keys.functionKeys[triggerNames.runStatusHttp]!,
    });
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect((JSON.parse(run.stdout) as { backups: Array<{ ok: boolean }> }).backups).toEqual([expect.objectContaining({ ok: true })]);
    for (const s of secrets) expect(`${run.stdout}${run.stderr}`.includes(s)).toBe(false);
    const paths = new Set(gateway.requests.map((r) => `${r.method} ${r.path.replace(/\/runs\/.+$/, "/runs/{id}")}`));
    console.info(`the CLI called: ${[...paths].join(", ")}`);
    expect(paths).toEqual(new Set(["POST /api/backups", "GET /api/runs/{id}"]));
    expect(gateway.requests.filter((r) => r.status === 401)).toEqual([]);
    for (const r of gateway.requests) {
      expect(r.key).toBe(r.path === "/api/backups" ? keys.functionKeys[triggerNames.backupHttp] : keys.functionKeys[triggerNames.runStatusHttp]);
    }
  }, 180_000);

  it("without a key the CLI fails naming the per-function key setting, and never asks for the master key", async () => {
    const run = await cli(["backup", "--hsm", "primary"], {});
    console.info(`CLI without a key: ${run.stderr.trim()}`);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/\[Unauthorized\].*HSM_LIFECYCLE_FUNCTION_KEY_BACKUPHTTP.*never the master key/);
  }, 60_000);
});
