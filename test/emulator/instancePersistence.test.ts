// Every kind of change an instance makes reaches its journal: after each step, an instance loaded from the same
// directory (without closing the first, as after a crash) holds exactly the same state. Also: a state dir written
// by the previous emulator (one whole state.json per instance) is migrated on start.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Instance, type InstanceSettings } from "../../emulator/instance";
import type { SecurityDomain } from "../../emulator/securityDomain";
import { ADMIN_OID, startTestEmulator } from "../support/emulator";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "hsm-instance-persist-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const secret = randomBytes(32);
function settings(): InstanceSettings {
  const securityDomain = { id: "sd-test", owner: "primary", secret } as SecurityDomain;
  return { name: "primary", kind: "managedHsm", stateDir: dir, securityDomain, keyBackupSecret: secret, purgeProtection: false, softDeleteRetentionDays: 7, admins: [ADMIN_OID] };
}

describe("instance persistence", () => {
  it("journals every kind of change: an instance loaded after each step sees the same state", async () => {
    const live = new Instance(settings());
    const loads: Instance[] = [];
    const expectReloadEqual = async (step: string): Promise<void> => {
      await live.commit();
      const again = new Instance(settings());
      loads.push(again);
      expect({ step, state: again.snapshot(), offset: again.clock.offsetMs }).toEqual({ step, state: live.snapshot(), offset: live.clock.offsetMs });
    };
    await expectReloadEqual("seeded admins");
    await live.keys.create("rsa", { kty: "RSA", key_size: 2048 });
    await live.keys.create("ec", { kty: "EC", crv: "P-256" });
    await live.keys.create("gone", { kty: "EC" });
    await expectReloadEqual("create");
    live.keys.update("ec", undefined, { attributes: { enabled: false }, tags: { team: "a" } });
    await expectReloadEqual("update");
    live.keys.setPolicy("rsa", { attributes: { expiryTime: "P90D" }, lifetimeActions: [{ trigger: { timeAfterCreate: "P30D" }, action: { type: "Rotate" } }] });
    await expectReloadEqual("rotation policy");
    await live.keys.rotateOnDemand("rsa");
    await expectReloadEqual("rotate");
    const backup = live.keys.backupPayload("gone");
    live.keys.delete("gone");
    await expectReloadEqual("delete");
    live.keys.recover("gone");
    await expectReloadEqual("recover");
    live.keys.delete("gone");
    live.keys.purge("gone");
    await expectReloadEqual("purge");
    live.keys.restorePayload(backup);
    await expectReloadEqual("restore single key");
    live.rbac.putAssignment("/keys/ec", randomUUID(), { properties: { roleDefinitionId: "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/21dbd100-6940-42c2-9190-5d6cb909625b", principalId: "reader" } });
    await expectReloadEqual("role assignment");
    live.keys.delete("gone");
    const { rotations } = await live.shiftClock(31 * 86_400_000); // automatic rotation of "rsa" and the purge of "gone" (7 days) fall due
    expect(rotations).toBe(1);
    expect(live.keys.listDeleted()).toHaveLength(0);
    await expectReloadEqual("clock shift, automatic rotation, scheduled purge");
    await live.replaceFromSnapshot({ ...live.snapshot(), keys: {} });
    await expectReloadEqual("full restore");
    await live.reset();
    await expectReloadEqual("reset");
    expect(live.persistenceStats().snapshots).toBe(2); // full restore and reset write whole snapshots; the rest appends
    for (const i of [live, ...loads]) await i.close();
  });

  it("migrates a state dir written by the previous emulator (state.json) on start, keeping keys, material and RBAC", async () => {
    // Produce the old layout exactly as the previous emulator wrote it: the whole state in instances/NAME/state.json.
    const source = await startTestEmulator({ hsms: ["primary"] });
    const created = await source.keyClient("primary").createEcKey("legacy-key");
    const snapshot = source.emulator.instances["primary"]!.instance.snapshot();
    await source.close();
    const instanceDir = join(dir, "instances", "primary");
    mkdirSync(instanceDir, { recursive: true });
    writeFileSync(join(instanceDir, "state.json"), JSON.stringify({ format: "hsm-emulator-instance/1", kind: "managedHsm", clockOffsetMs: 0, seededAdmins: [ADMIN_OID], ...snapshot }));

    const logs: string[] = [];
    const emu = await startTestEmulator({ hsms: ["primary"], stateDir: dir, keepStateDir: true, log: (l) => logs.push(l) });
    try {
      const got = await emu.keyClient("primary").getKey("legacy-key");
      expect(got.properties.version).toBe(created.properties.version);
      expect(Buffer.from(got.key!.x!).equals(Buffer.from(created.key!.x!))).toBe(true);
      expect(emu.emulator.instances["primary"]!.instance.snapshot().roleAssignments).toEqual(snapshot.roleAssignments);
      expect(logs.some((l) => l.includes("migrated state.json"))).toBe(true);
      expect(existsSync(join(instanceDir, "state.json"))).toBe(false);
      expect(readdirSync(instanceDir)).toContain("snapshot.json");
    } finally {
      await emu.close();
    }
  });
});
