/**
 * A sweep where one instance fails still sweeps, rotates and notifies the others: the vault's data plane answers
 * 503 to every call (emulator fault injection), the HSM's keys are still listed, rotated and their KeyNearExpiry
 * notices published; the vault's failure is reported for the vault, with what was tried and no promise of a
 * retry that is not coming. Runner on a virtual clock (durable retry timers fire at once), emulator, Azurite.
 * Build first (`npx tsc -p tsconfig.json`).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KeyClient } from "@azure/keyvault-keys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack, type LocalStack } from "../../dev/localStack";
import { triggerNames } from "../../shared/names";
import { rotationInstanceId } from "../../shared/rotation/rotationIds";
import type { RotateKeyOutput, RotationSweepOutput } from "../../shared/rotation/types";

const DAY = 86_400_000;
const policyText = JSON.stringify({
  version: 1,
  defaults: { gracePeriod: "P2D", notifyBefore: ["P30D", "P7D", "P1D"] },
  rules: [
    { name: "hsm-keys", instances: ["primary"], rotateBeforeExpiry: "P30D", newVersionExpiry: "P180D" },
    { name: "vault-keys", instances: ["app"], rotateBeforeExpiry: "P14D", newVersionExpiry: "P90D" },
  ],
});

let stack: LocalStack;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sweep-faults-e2e-"));
  writeFileSync(join(dir, "rotation-policy.json"), policyText);
  stack = await startLocalStack({ stateDir: dir, runner: { clock: "virtual", port: 0, startupTimers: false, scheduleTimers: false }, azuriteInMemory: true });
}, 120_000);

afterAll(async () => {
  await stack?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe("a sweep with one failing instance", () => {
  it("still lists, rotates and notifies the healthy HSM; the vault's failure is reported for the vault, honestly", async () => {
    const runner = stack.runner!;
    const hsm = new KeyClient(stack.urls.primary, stack.adminCredential, stack.clientOptions());
    const vault = new KeyClient(stack.urls.vault, stack.adminCredential, stack.clientOptions());
    const key = await hsm.createRsaKey("pay-near", { keySize: 2048, keyOps: ["sign", "verify"], expiresOn: new Date(Date.now() + 10 * DAY) });
    await vault.createRsaKey("vault-near", { keySize: 2048, keyOps: ["sign", "verify"], expiresOn: new Date(Date.now() + 5 * DAY) });
    // Every vault data-plane call fails with 503 from now on (listing included, through the SDK's own retries).
    expect((await stack.control("app", "PUT", "/_emulator/faults", { errorFraction: 1, errorStatus: 503, remaining: 100_000 })).status).toBe(200);
    try {
      expect(await runner.fireTimer(triggerNames.rotationSweepTimer)).toBe(true);
      const sweepId = (): string | undefined => [...runner.startedInstances].find((id) => id.startsWith("sweep:"));
      await runner.waitForTerminal();
      const id = sweepId()!;
      expect(runner.host.get(id)?.runtimeStatus, runner.host.get(id)?.output ?? "").toBe("Completed");
      const sweep = JSON.parse(runner.host.get(id)!.output!) as RotationSweepOutput;

      // The healthy HSM: listed, its due key rotated, its notice published.
      expect(sweep.instances.find((i) => i.name === "primary")).toMatchObject({ listed: 1, due: 1, notices: 1, noticesPublished: 1 });
      const rotation = rotationInstanceId({ vaultUrl: stack.urls.primary, name: "pay-near", version: key.properties.version! });
      const rotated = JSON.parse(runner.host.get(rotation)!.output!) as RotateKeyOutput;
      expect(["rotated", "alreadyRotated"]).toContain(rotated.kind);

      // The vault: reported for itself, with the cause, what was tried, and no promised retry.
      expect(sweep.instances.find((i) => i.name === "app")).toMatchObject({ listed: 0, due: 0 });
      const failure = sweep.failures.find((f) => f.instanceId === "app");
      expect(failure).toMatchObject({ stage: "list", code: "ServiceUnavailable" });
      expect(failure!.message).toMatch(/503/);
      expect(failure!.message).toMatch(/Gave up after 3 attempts\.$/);
      expect(failure!.message).not.toMatch(/is retried/i);
      expect(sweep.failures.filter((f) => f.instanceId !== "app")).toEqual([]);
    } finally {
      await stack.control("app", "DELETE", "/_emulator/faults");
    }
  }, 240_000);
});
