/**
 * Attack: whoever can start an orchestration (the durable HTTP API) chooses its input. If an input could carry
 * an HSM URL, the rotation or backup identity would call that host and, with the SDK's challenge check off,
 * hand it a Managed HSM token for whatever resource its 401 challenge names.
 *
 * Here the attacker's host is a real HTTPS server the app trusts (it serves the emulator's own certificate, so
 * TLS does not stop anything) that answers Key Vault's 401 challenge and records every Authorization header.
 * First a control proves the trap harvests a token from a client that follows it; then `rotateKey` and
 * `hsmBackup` are started through the runner's durable HTTP API with inputs naming that host. No request
 * reaches it, and each instance fails with a reason that says why.
 * Build first (`npx tsc -p tsconfig.json`).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { KeyClient } from "@azure/keyvault-keys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack, type LocalStack } from "../../dev/localStack";
import { orchestrationNames } from "../../shared/names";
import { startTokenTrap, type TokenTrap } from "./tokenTrap";

let stack: LocalStack;
let trap: TokenTrap;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sec-input-urls-"));
  stack = await startLocalStack({ stateDir: dir, runner: { clock: "virtual", port: 0 }, azuriteInMemory: true });
  const tlsDir = join(dirname(stack.caFile), "tls");
  trap = await startTokenTrap({ cert: readFileSync(join(tlsDir, "server.pem"), "utf8"), key: readFileSync(join(tlsDir, "server-key.pem"), "utf8") });
}, 120_000);

afterAll(async () => {
  await trap?.close();
  await stack?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}, 60_000);

/** Starts an orchestration through the durable HTTP API, as an attacker with API access would. */
async function startThroughApi(name: string, instanceId: string, input: unknown): Promise<void> {
  const res = await fetch(`${stack.runner!.url}/runtime/webhooks/durabletask/orchestrators/${name}/${encodeURIComponent(instanceId)}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(input),
  });
  expect(res.status).toBe(202);
}

async function settled(instanceId: string): Promise<{ runtimeStatus: string; output: unknown }> {
  const end = Date.now() + 60_000;
  for (;;) {
    const res = await fetch(`${stack.runner!.url}/runtime/webhooks/durabletask/instances/${encodeURIComponent(instanceId)}`);
    const body = (await res.json()) as { runtimeStatus: string; output: unknown };
    if (["Completed", "Failed", "Terminated"].includes(body.runtimeStatus)) return body;
    if (Date.now() > end) throw new Error(`${instanceId} did not settle: ${JSON.stringify(body)}`);
    await stack.runner!.waitForIdle();
    await new Promise((r) => setTimeout(r, 100));
  }
}

const rule = { name: "hsm-keys", newVersionExpiry: "P180D", gracePeriod: "P7D" };

describe("orchestration inputs cannot redirect a token", () => {
  it("control: the trap does harvest a token from a client that follows its challenge", async () => {
    trap.reset();
    const follower = new KeyClient(trap.url, stack.managedIdentityCredential("rotation"), stack.clientOptions());
    await expect(follower.getKey("anything")).rejects.toThrow();
    expect(trap.tokens().length).toBeGreaterThan(0);
  }, 30_000);

  it("rotateKey with the attacker's URL in its input fails before any call; the host sees nothing", async () => {
    trap.reset();
    const attempts = [
      { id: "attack-url-field", instance: { name: "primary", kind: "managedHsm", url: trap.url } },
      { id: "attack-url-as-name", instance: { name: trap.url, kind: "managedHsm" } },
    ];
    for (const a of attempts) {
      await startThroughApi(orchestrationNames.rotateKey, a.id, { instance: a.instance, name: "k", version: "0123456789abcdef0123456789abcdef", trigger: "manual", runId: a.id, rule });
      const end = await settled(a.id);
      console.info(`${a.id}: ${end.runtimeStatus}: ${JSON.stringify(end.output)}`);
      expect(end.runtimeStatus).toBe("Failed");
      expect(JSON.stringify(end.output)).toMatch(/BadParameter.*carries a URL instead of an instance name; refused without calling it/);
    }
    expect(trap.requests).toEqual([]);
  }, 90_000);

  it("rotateKey naming an instance that is not configured fails naming the configured ones", async () => {
    trap.reset();
    await startThroughApi(orchestrationNames.rotateKey, "attack-unknown-name", { instance: { name: "evil", kind: "managedHsm" }, name: "k", version: "0123456789abcdef0123456789abcdef", trigger: "manual", runId: "attack", rule });
    const end = await settled("attack-unknown-name");
    console.info(`attack-unknown-name: ${end.runtimeStatus}: ${JSON.stringify(end.output)}`);
    expect(end.output).toMatchObject({ kind: "failed", code: "BadParameter" });
    expect((end.output as { message: string }).message).toMatch(/"evil" is not a configured instance.*Configured: primary \(managedHsm\), app \(vault\)/);
    // A drill target is not a rotation instance either: inputs cannot steer a rotation into the DR HSM.
    await startThroughApi(orchestrationNames.rotateKey, "attack-drill-target", { instance: { name: "dr", kind: "managedHsm" }, name: "k", version: "0123456789abcdef0123456789abcdef", trigger: "manual", runId: "attack", rule });
    expect((await settled("attack-drill-target")).output).toMatchObject({ kind: "failed", code: "BadParameter" });
    expect(trap.requests).toEqual([]);
  }, 90_000);

  it("hsmBackup with an hsmUrl in its input fails before any call (the backup SAS and token stay home)", async () => {
    trap.reset();
    const input = {
      hsmName: "primary",
      hsmUrl: trap.url,
      night: "2026-12-06",
      pollIntervalMs: 0,
      jobTimeoutMs: 60_000,
      jobAttempts: 1,
      jobRetryDelayMs: 0,
      activityRetry: { firstRetryIntervalMs: 100, maxAttempts: 1, backoffCoefficient: 1, maxRetryIntervalMs: 100 },
      copy: false,
      retention: null,
    };
    await startThroughApi(orchestrationNames.hsmBackup, "attack-backup-url", input);
    const end = await settled("attack-backup-url");
    console.info(`attack-backup-url: ${end.runtimeStatus}: ${JSON.stringify(end.output)}`);
    expect(end.runtimeStatus).toBe("Failed");
    expect(JSON.stringify(end.output)).toMatch(/BadParameter.*carries hsmUrl; refused without calling it/);
    expect(trap.requests).toEqual([]);
  }, 90_000);
});
