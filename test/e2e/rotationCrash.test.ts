/**
 * Crash safety: kill the runner (SIGKILL, a child `node dist/runner/main.js`) while a rotation is in
 * flight, restart it on the same state dir: the rotation completes with exactly one new version.
 * The HSM is slowed (emulator fault injection: every data-plane request delayed) so the kill lands after
 * the service created the new version but before the activity's result reached the orchestration history;
 * the re-run activity then finds the key already moved on (`alreadyRotated`) and does not rotate again.
 * Build first (`npx tsc -p tsconfig.json`).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KeyClient } from "@azure/keyvault-keys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack, type LocalStack } from "../../dev/localStack";
import { orchestrationNames } from "../../shared/names";
import { rotationInstanceId } from "../../shared/rotation/rotationIds";
import type { RotateKeyInput, RotateKeyOutput } from "../../shared/rotation/types";
import { spawnRunner, type RunnerChild } from "../runner/runnerProcess";

const DAY = 86_400_000;
let stack: LocalStack;
let dir: string;
let child: RunnerChild | undefined;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function control(instance: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const { request } = await import("node:https");
  const url = new URL(path, stack.ready.instances[instance]?.url);
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(url, { method, ca: stack.caPem, headers: payload === undefined ? {} : { "content-type": "application/json" } }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve(text === "" ? undefined : JSON.parse(text)));
    });
    req.on("error", reject);
    req.end(payload);
  });
}

async function rotateRecords(): Promise<number> {
  const answer = (await control("primary", "GET", "/_emulator/audit?operationName=KeyRotate")) as unknown;
  const list = Array.isArray(answer) ? answer : ((answer as { records?: unknown[]; value?: unknown[] }).records ?? (answer as { value?: unknown[] }).value ?? []);
  // Successful creates only: a key's first rotate is refused (no rotation policy yet) before the policy is set.
  return list.filter((r) => (r as { resultType?: string }).resultType === "Success").length;
}

function startRunnerChild(): Promise<RunnerChild> {
  return spawnRunner(["--app", ".", "--port", "0", "--state-dir", join(dir, "runner-child"), "--settings", stack.settingsFile]);
}

async function stopChild(): Promise<void> {
  if (child === undefined) return;
  const c = child;
  child = undefined;
  c.child.kill("SIGKILL");
  await c.exited;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "rotation-crash-"));
  writeFileSync(
    join(dir, "rotation-policy.json"),
    JSON.stringify({ version: 1, defaults: { gracePeriod: "P7D" }, rules: [{ name: "hsm-keys", instances: ["primary"], rotateBeforeExpiry: "P30D", newVersionExpiry: "P180D" }] }),
  );
  stack = await startLocalStack({ stateDir: dir, azuriteInMemory: true });
}, 120_000);

afterAll(async () => {
  await stopChild();
  await stack?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe("kill the runner during a rotation", () => {
  it("after a restart the rotation completes with exactly one new version", async () => {
    const hsm = new KeyClient(stack.urls.primary, stack.adminCredential, stack.clientOptions());
    const key = await hsm.createRsaKey("crash-key", { keySize: 2048, keyOps: ["sign", "verify"], expiresOn: new Date(Date.now() + 10 * DAY) });
    const version = key.properties.version ?? "";
    const id = rotationInstanceId({ vaultUrl: stack.urls.primary, name: "crash-key", version });
    const input: RotateKeyInput = {
      instance: { name: "primary", kind: "managedHsm" },
      name: "crash-key",
      version,
      trigger: "manual",
      runId: "crash-test",
      rule: { name: "hsm-keys", newVersionExpiry: "P180D", gracePeriod: "P7D" },
    };
    // Every HSM request takes 1.2 s: rotate → (kill here) → set expiry is a window of over a second.
    await control("primary", "PUT", "/_emulator/faults", { delayFraction: 1, delayMs: 1200 });

    child = await startRunnerChild();
    const base = `${child.ready.url}/runtime/webhooks/durabletask`;
    const started = await fetch(`${base}/orchestrators/${orchestrationNames.rotateKey}/${encodeURIComponent(id)}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(input),
    });
    expect(started.status).toBeLessThan(300);
    await started.text();

    const deadline = Date.now() + 60_000;
    while ((await rotateRecords()) === 0) {
      if (Date.now() > deadline) throw new Error(`the rotation never reached the HSM. Runner stderr: ${child?.stderr().slice(-2000)}`);
      await sleep(50);
    }
    await stopChild(); // SIGKILL mid-activity: the new version exists, its result is not in the history
    expect((await hsm.getKey("crash-key")).properties.version).not.toBe(version);
    await control("primary", "DELETE", "/_emulator/faults");

    child = await startRunnerChild();
    const url = `${child.ready.url}/runtime/webhooks/durabletask/instances/${encodeURIComponent(id)}`;
    let status: { runtimeStatus?: string; output?: RotateKeyOutput } = {};
    const until = Date.now() + 90_000;
    while (Date.now() < until) {
      const res = await fetch(url);
      status = (await res.json()) as typeof status;
      if (["Completed", "Failed", "Terminated"].includes(status.runtimeStatus ?? "")) break;
      await sleep(200);
    }
    expect(status.runtimeStatus, JSON.stringify(status)).toBe("Completed");
    expect(status.output?.kind === "rotated" || status.output?.kind === "alreadyRotated", JSON.stringify(status.output)).toBe(true);
    const versions: string[] = [];
    for await (const v of hsm.listPropertiesOfKeyVersions("crash-key")) versions.push(v.version ?? "");
    expect(versions).toHaveLength(2);
    expect(await rotateRecords()).toBe(1);
    const current = await hsm.getKey("crash-key");
    expect(status.output?.kind !== "skipped" && status.output?.kind !== "failed" ? status.output?.version : "").toBe(current.properties.version);
    // The new version got the policy's expiry even though the first attempt died before setting it.
    expect(Math.abs((current.properties.expiresOn?.getTime() ?? 0) - ((current.properties.createdOn?.getTime() ?? 0) + 180 * DAY))).toBeLessThan(2000);
  }, 180_000);
});
