import { describe, expect, it } from "vitest";
import { HSM_BACKUP_ROLE, HSM_DRILL_DR_ROLE, HSM_RECOVERY_ROLE, HSM_ROTATION_ROLE, LIFECYCLE_ROLES, PRIVILEGED_ACTIONS } from "../../shared/rbac/lifecycleRoles";
import { describeDrift, diffInstanceRbac, permissionsOf } from "../../shared/rbac/rbacDiff";
import type { LiveRbac } from "../../shared/rbac/rbacLiveState";
import { buildRbacPlan, drOnlyAssignments } from "../../shared/rbac/rbacPlan";
import { parseRbacPrincipals } from "../../shared/rbac/rbacPrincipals";

const ID = (n: number): string => `00000000-0000-4000-8000-00000000000${n}`;
const principals = parseRbacPrincipals(`rotation=${ID(1)},backup=${ID(2)},drill=${ID(3)},steward=${ID(4)},recovery=${ID(5)},administrator=${ID(9)}`).principals;
const config = { hsms: [{ name: "p", role: "primary" as const }, { name: "d", role: "drillTarget" as const }], vaults: [{ name: "v" }], drillPairs: [{ primary: "p", target: "d" }], rbacPrincipals: principals };

describe("parseRbacPrincipals", () => {
  it("reads identities and repeated administrators; names every bad entry", () => {
    expect(parseRbacPrincipals(`drill=${ID(3)}, administrator=${ID(8)},administrator=${ID(9)}`).principals).toEqual({ ids: { drill: ID(3) }, administrators: [ID(8), ID(9)] });
    expect(parseRbacPrincipals(`drill=nope,pilot=${ID(1)},rotation=${ID(1)},rotation=${ID(2)}`).problems).toEqual([
      'entry "drill" needs an object id (a GUID) after "=".',
      'unknown identity "pilot"; use rotation, backup, drill, steward, recovery, auditor, administrator.',
      '"rotation" is given twice.',
    ]);
  });
});

describe("buildRbacPlan", () => {
  it("never plans the drill's DR role (or anything that restores, purges or writes roles for the drill) on a primary", () => {
    const plan = buildRbacPlan(config);
    const primary = plan.instances.find((i) => i.name === "p")!;
    expect(primary.assignments.map((a) => `${a.identity} ${a.role.roleName} ${a.scope}`)).toEqual([
      "rotation HSM Lifecycle Rotation /keys",
      "backup HSM Lifecycle Backup /",
      "drill HSM Lifecycle Drill Probe /",
      "drill HSM Lifecycle Evidence Signer /keys/evidence-signing",
      "steward HSM Lifecycle DR Steward /",
      "recovery HSM Lifecycle Recovery /",
    ]);
    // Only the drill's DR role and the recovery role restore; the recovery role never purges.
    for (const a of primary.assignments.filter((x) => x.identity !== "steward" && x.identity !== "recovery")) {
      for (const action of PRIVILEGED_ACTIONS.managedHsm) expect(permissionsOf(a.role)[0]!.dataActions).not.toContain(action);
    }
    expect(drOnlyAssignments(plan, "d").map((a) => [a.identity, a.role.name])).toEqual([["drill", HSM_DRILL_DR_ROLE.name]]);
    // DR carries the primary's assignments (a full restore copies them there), then its own drill role.
    expect(plan.instances.find((i) => i.name === "d")!.assignments.map((a) => a.identity)).toEqual(["rotation", "backup", "drill", "drill", "steward", "recovery", "drill"]);
    expect(plan.instances.find((i) => i.name === "v")!.assignments.map((a) => a.role.roleName)).toEqual(["Vault Lifecycle Rotation"]);
    expect(LIFECYCLE_ROLES.length).toBeLessThanOrEqual(50);
  });

  it("the recovery role restores and recovers one key but cannot purge, delete, create, back up or write roles; the backup role cannot restore", () => {
    const m = (x: string): string => `Microsoft.KeyVault/managedHsm/${x}`;
    expect(HSM_RECOVERY_ROLE.dataActions).toEqual(expect.arrayContaining([m("restore/start/action"), m("restore/status/action"), m("keys/read/action"), m("keys/deletedKeys/read/action"), m("keys/deletedKeys/recover/action")]));
    for (const forbidden of ["keys/deletedKeys/delete", "keys/delete", "keys/create", "keys/import/action", "backup/start/action", "roleAssignments/write/action", "roleDefinitions/write/action"]) {
      expect(HSM_RECOVERY_ROLE.dataActions).not.toContain(m(forbidden));
    }
    expect(HSM_BACKUP_ROLE.dataActions).not.toContain(m("restore/start/action"));
    // Without a recovery object id no one is planned to recover (the operation then fails with MissingRole).
    const none = buildRbacPlan({ ...config, rbacPrincipals: parseRbacPrincipals(`rotation=${ID(1)},backup=${ID(2)},drill=${ID(3)}`).principals });
    expect(none.instances.flatMap((i) => i.assignments).some((a) => a.identity === "recovery")).toBe(false);
  });

  it("without a steward the drill pair is planned without one; without a drill identity it names the fix", () => {
    const noSteward = buildRbacPlan({ ...config, rbacPrincipals: parseRbacPrincipals(`rotation=${ID(1)},backup=${ID(2)},drill=${ID(3)}`).principals });
    expect(noSteward.instances.flatMap((i) => i.assignments).some((a) => a.identity === "steward")).toBe(false);
    expect(() => buildRbacPlan({ ...config, rbacPrincipals: parseRbacPrincipals(`rotation=${ID(1)},backup=${ID(2)}`).principals })).toThrow(
      '[SettingsInvalid] RBAC_PRINCIPAL_IDS has no "drill" object id, which a drill pair needs. Fix: add drill=<object id> to RBAC_PRINCIPAL_IDS.',
    );
  });
});

describe("diffInstanceRbac", () => {
  const plan = buildRbacPlan(config);
  const primary = plan.instances.find((i) => i.name === "p")!;
  const liveFromPlan = (): LiveRbac => ({
    definitions: new Map(LIFECYCLE_ROLES.filter((r) => r.kind === "managedHsm").map((r) => [r.name, { name: r.name, roleName: r.roleName, custom: true, permissions: permissionsOf(r) }])),
    assignments: primary.assignments.map((a, i) => ({ name: `a${i}`, scope: a.scope, roleDefinitionName: a.role.name, principalId: a.principalId })),
  });

  it("is empty when live matches the plan", () => {
    const d = diffInstanceRbac(primary, liveFromPlan(), principals);
    expect(describeDrift(d)).toEqual([]);
  });

  it("reports missing, outdated definitions, extra vs over-broad, and other principals holding privileged actions (wildcards honoured)", () => {
    const live = liveFromPlan();
    live.assignments.splice(0, 1); // rotation's role gone
    live.definitions.set("wild", { name: "wild", roleName: "Everything", custom: true, permissions: [{ dataActions: ["Microsoft.KeyVault/managedHsm/*"], notDataActions: ["Microsoft.KeyVault/managedHsm/keys/deletedKeys/delete"] }] });
    live.definitions.set(HSM_ROTATION_ROLE.name, { name: HSM_ROTATION_ROLE.name, roleName: HSM_ROTATION_ROLE.roleName, custom: true, permissions: [{ dataActions: ["Microsoft.KeyVault/managedHsm/keys/read/action"] }] });
    live.assignments.push({ name: "x1", scope: "/", roleDefinitionName: "wild", principalId: ID(2) }); // backup: over-broad
    live.assignments.push({ name: "x2", scope: "/keys", roleDefinitionName: HSM_ROTATION_ROLE.name, principalId: ID(3) }); // drill: the (outdated, read-only) rotation role
    live.assignments.push({ name: "x3", scope: "/", roleDefinitionName: "wild", principalId: "77777777-0000-4000-8000-000000000000" }); // someone else
    live.assignments.push({ name: "x4", scope: "/", roleDefinitionName: "wild", principalId: ID(9) }); // an administrator: expected
    const d = diffInstanceRbac(primary, live, principals);
    expect(d.definitions.map((x) => [x.role.roleName, x.state])).toEqual([["HSM Lifecycle Rotation", "outdated"]]);
    expect(d.missing.map((m) => m.identity)).toEqual(["rotation"]);
    // The drill already reads keys everywhere: a redundant extra, not over-broad.
    expect(d.extra.map((x) => [x.identity, x.beyondPlan.length > 0])).toEqual([["backup", true], ["drill", false]]);
    expect(d.extra[0]!.beyondPlan).toContain("Microsoft.KeyVault/managedHsm/restore/start/action");
    expect(d.extra[0]!.beyondPlan).not.toContain("Microsoft.KeyVault/managedHsm/keys/deletedKeys/delete");
    expect(d.privileged.map((p) => [p.assignment.principalId, p.actions.map((a) => a.replace("Microsoft.KeyVault/managedHsm/", ""))])).toEqual([
      ["77777777-0000-4000-8000-000000000000", ["restore/start/action", "roleAssignments/write/action", "roleDefinitions/write/action"]],
    ]);
  });
});
