import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { EmulatorCredential } from "../../emulator/auth/emulatorCredential";
import { missingForNextDrill, nextDrillWarning, NEXT_DRILL_DATA_ACTIONS } from "../../shared/drill/nextDrillReadiness";
import { principalIdOf } from "../../shared/hsm/principalIdOf";
import { KnownManagedHsmRoleDefinitionIds as R } from "../../shared/hsm/keyVaultAccessControlClientModels";

const HSM = "Microsoft.KeyVault/managedHsm/";
const definitions = new Map([
  [R.Backup, [{ dataActions: [`${HSM}backup/start/action`, `${HSM}backup/status/action`] }]],
  [R.Restore, [{ dataActions: [`${HSM}restore/start/action`, `${HSM}restore/status/action`] }]],
  ["wild", [{ dataActions: [`${HSM}*`], notDataActions: [`${HSM}restore/start/action`] }]],
  ["all", [{ dataActions: ["*"] }]],
]);
const me = "0b5e0a4b-7d2f-4e61-9a3b-0f6d2c8e1a03";

describe("whether the restored DR HSM still lets the drill identity run the next drill", () => {
  it("needs backup and restore at '/' for this principal", () => {
    expect(missingForNextDrill(me, [], definitions)).toEqual([...NEXT_DRILL_DATA_ACTIONS]);
    const both = [
      { scope: "/", roleDefinitionId: R.Backup, principalId: me },
      { scope: "/", roleDefinitionId: R.Restore, principalId: me },
    ];
    expect(missingForNextDrill(me, both, definitions)).toEqual([]);
    // Someone else's roles, a narrower scope or an unknown definition grant nothing.
    expect(missingForNextDrill("someone-else", both, definitions)).toEqual([...NEXT_DRILL_DATA_ACTIONS]);
    expect(missingForNextDrill(me, [{ scope: "/keys", roleDefinitionId: R.Backup, principalId: me }, { scope: "/", roleDefinitionId: "unknown", principalId: me }], definitions)).toEqual([...NEXT_DRILL_DATA_ACTIONS]);
  });

  it("honours wildcards and notDataActions", () => {
    expect(missingForNextDrill(me, [{ scope: "/", roleDefinitionId: "wild", principalId: me }], definitions)).toEqual([`${HSM}restore/start/action`]);
    expect(missingForNextDrill(me, [{ scope: "/", roleDefinitionId: "all", principalId: me }], definitions)).toEqual([]);
  });

  it("the warning names the principal, what is missing, why, and the fix", () => {
    const text = nextDrillWarning(me, [`${HSM}backup/start/action`]);
    expect(text).toContain(`principal ${me}`);
    expect(text).toContain(`${HSM}backup/start/action`);
    expect(text).toMatch(/replaces DR's role assignments with the backup's/);
    expect(text).toMatch(/Fix: give the DR steward identity .*"HSM Lifecycle DR Steward".*hsm-lifecycle rbac apply/);
    expect(text).toContain("Never grant the drill identity restore on the primary");
  });

  it("reads the caller's object id from its own token", async () => {
    expect(await principalIdOf(new EmulatorCredential(randomBytes(32), me))).toBe(me);
    expect(await principalIdOf({ getToken: async () => ({ token: "opaque", expiresOnTimestamp: Date.now() + 60_000 }) })).toBeUndefined();
  });
});
