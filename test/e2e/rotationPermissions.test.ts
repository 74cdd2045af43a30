/**
 * "A missing permission fails that key with a message naming the role, and the others go on".
 * The rotation identity's HSM Lifecycle Rotation at "/keys" is replaced by Crypto Auditor on /keys (it can still
 * list and read every key) plus HSM Lifecycle Rotation on one key only; a sweep then rotates that key and fails the
 * other with KeyRotationFailed naming the role — and the sweep itself completes.
 * Build first (`npx tsc -p tsconfig.json`).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KeyClient } from "@azure/keyvault-keys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HSM_ROLE_IDS } from "../../emulator/rbac/builtInRoles";
import { startLocalStack, type LocalStack } from "../../dev/localStack";
import { plannedAssignments, STACK_IDENTITIES } from "../../dev/stackIdentities";
import { assignmentName } from "../../shared/rbac/assignmentName";
import { HSM_ROTATION_ROLE, roleDefinitionIdOf } from "../../shared/rbac/lifecycleRoles";
import { KeyVaultAccessControlClient } from "../../shared/hsm/keyVaultAccessControlClient";
import { eventTypeName } from "../../runner/historyEvents";
import { triggerNames } from "../../shared/names";
import { rotationInstanceId } from "../../shared/rotation/rotationIds";
import type { RotateKeyOutput, RotationSweepOutput } from "../../shared/rotation/types";

const DAY = 86_400_000;
let stack: LocalStack;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "rotation-perm-"));
  writeFileSync(
    join(dir, "rotation-policy.json"),
    JSON.stringify({ version: 1, rules: [{ name: "hsm-keys", instances: ["primary"], rotateBeforeExpiry: "P30D", newVersionExpiry: "P180D" }] }),
  );
  stack = await startLocalStack({ stateDir: dir, runner: { clock: "virtual", port: 0 }, azuriteInMemory: true });
}, 120_000);

afterAll(async () => {
  await stack?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe("least privilege", () => {
  it("a key the rotation identity may not rotate fails alone, naming the missing role; the others rotate", async () => {
    const runner = stack.runner;
    if (runner === undefined) throw new Error("no runner");
    const hsm = new KeyClient(stack.urls.primary, stack.adminCredential, stack.clientOptions());
    const exp = new Date(Date.now() + 10 * DAY);
    const ok = await hsm.createEcKey("perm-ok", { curve: "P-256", keyOps: ["sign", "verify"], expiresOn: exp });
    const denied = await hsm.createEcKey("perm-denied", { curve: "P-256", keyOps: ["sign", "verify"], expiresOn: exp });

    const rbac = new KeyVaultAccessControlClient(stack.urls.primary, stack.adminCredential, stack.clientOptions());
    const seeded = plannedAssignments({ primary: "primary", dr: "dr", vault: "app" }).find((a) => a.instance === "primary" && a.identity === "rotation");
    if (seeded === undefined) throw new Error("the stack seeds no rotation assignment on primary");
    await rbac.deleteRoleAssignment(seeded.scope, assignmentName("primary", seeded.scope, seeded.role.name, seeded.principalId));
    await rbac.createRoleAssignment("/keys", "6f1c2a34-0000-4000-8000-00000000a001", HSM_ROLE_IDS.cryptoAuditor, STACK_IDENTITIES.rotation);
    await rbac.createRoleAssignment("/keys/perm-ok", "6f1c2a34-0000-4000-8000-00000000a002", roleDefinitionIdOf(HSM_ROTATION_ROLE), STACK_IDENTITIES.rotation);

    expect(await runner.fireTimer(triggerNames.rotationSweepTimer)).toBe(true);
    const sweepId = [...runner.startedInstances].find((id) => id.startsWith("sweep:")) ?? "";
    const end = Date.now() + 90_000;
    while (!["Completed", "Failed", "Terminated"].includes(runner.host.get(sweepId)?.runtimeStatus ?? "")) {
      if (Date.now() > end) throw new Error("the sweep did not finish");
      await runner.waitForIdle();
      await new Promise((r) => setTimeout(r, 150));
    }
    expect(runner.host.get(sweepId)?.runtimeStatus).toBe("Completed");
    const sweep = JSON.parse(runner.host.get(sweepId)?.output ?? "{}") as RotationSweepOutput;
    expect(sweep.outcomes).toMatchObject({ rotated: 1, failed: 1 });

    const okOut = JSON.parse(runner.host.get(rotationInstanceId({ vaultUrl: stack.urls.primary, name: "perm-ok", version: ok.properties.version ?? "" }))?.output ?? "{}") as RotateKeyOutput;
    expect(okOut.kind).toBe("rotated");
    const deniedInstance = runner.host.get(rotationInstanceId({ vaultUrl: stack.urls.primary, name: "perm-denied", version: denied.properties.version ?? "" }));
    const deniedOut = JSON.parse(deniedInstance?.output ?? "{}") as RotateKeyOutput;
    // A missing role is permanent: the rotate was tried once and reported at once, with no retry timer.
    const deniedHistory = deniedInstance?.history ?? [];
    expect(deniedHistory.filter((e) => eventTypeName(e.EventType) === "TaskScheduled" && e.Name === "ensurePolicyAndRotate")).toHaveLength(1);
    expect(deniedHistory.filter((e) => ["TaskFailed", "TimerCreated"].includes(eventTypeName(e.EventType)))).toEqual([]);
    expect(deniedOut.kind).toBe("failed");
    if (deniedOut.kind !== "failed") return;
    expect(deniedOut.code).toBe("MissingRole");
    expect(deniedOut.message).toContain("HSM Lifecycle Rotation");
    expect(deniedOut.published).toBe(true);
    expect(sweep.failures).toEqual([expect.objectContaining({ code: "MissingRole", message: expect.stringContaining("HSM Lifecycle Rotation") })]);

    const versions = async (name: string): Promise<number> => {
      let n = 0;
      for await (const _ of hsm.listPropertiesOfKeyVersions(name)) n++;
      return n;
    };
    expect(await versions("perm-ok")).toBe(2);
    expect(await versions("perm-denied")).toBe(1);

    // The role is granted; the HSM's KeyNearExpiry (as the sweep publishes it to the lifecycle topic) arrives
    // again: a failed attempt made no version, so this one may run — and rotates exactly once.
    await rbac.createRoleAssignment("/keys/perm-denied", "6f1c2a34-0000-4000-8000-00000000a003", roleDefinitionIdOf(HSM_ROTATION_ROLE), STACK_IDENTITIES.rotation);
    const deniedId = rotationInstanceId({ vaultUrl: stack.urls.primary, name: "perm-denied", version: denied.properties.version ?? "" });
    const topicId = stack.ready.instances["lifecycle"]?.resourceId ?? "";
    const event = {
      id: `notice-${denied.properties.version ?? ""}`,
      topic: topicId,
      subject: "perm-denied",
      eventType: "Microsoft.KeyVault.KeyNearExpiry",
      eventTime: new Date().toISOString(),
      dataVersion: "1",
      metadataVersion: "1",
      data: { Id: denied.id, VaultName: "primary", ObjectType: "Key", ObjectName: "perm-denied", Version: denied.properties.version, NBF: null, EXP: Math.floor(exp.getTime() / 1000) },
    };
    const res = await fetch(`${runner.url}/runtime/webhooks/EventGrid?functionName=${triggerNames.keyEventGrid}`, {
      method: "POST",
      headers: { "content-type": "application/json", "aeg-event-type": "Notification" },
      body: JSON.stringify([event]),
    });
    expect(res.status).toBeLessThan(300);
    await res.text();
    const until = Date.now() + 60_000;
    for (;;) {
      await runner.waitForIdle();
      const out = runner.host.get(deniedId);
      if (out?.runtimeStatus === "Completed" && (JSON.parse(out.output ?? "{}") as RotateKeyOutput).kind !== "failed") break;
      if (Date.now() > until) throw new Error(`no second attempt: ${out?.runtimeStatus} ${out?.output ?? ""}`);
      await new Promise((r) => setTimeout(r, 150));
    }
    expect(JSON.parse(runner.host.get(deniedId)?.output ?? "{}")).toMatchObject({ kind: "rotated", previousVersion: denied.properties.version });
    expect(await versions("perm-denied")).toBe(2);
  }, 150_000);
});
