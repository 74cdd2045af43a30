/**
 * The role definitions and assignments every configured HSM and vault needs, from the settings alone (no I/O):
 * what `hsm-lifecycle rbac plan` prints, `rbac apply` makes true, `rbac check` compares with, and the local stack
 * applies.
 *
 * A drill target carries its primary's assignments too: a full restore replaces DR's role assignments with the
 * primary's, so they are there after every drill anyway, and planning them keeps `rbac check` quiet after a drill.
 * The drill's DR-only assignment (the only one that can restore) is never planned on a primary; the DR steward
 * re-applies it after each full restore (see shared/drill/activities/reapplyDrRoles.ts).
 */
import {
  HSM_AUDITOR_ROLE,
  HSM_BACKUP_ROLE,
  HSM_DR_STEWARD_ROLE,
  HSM_DRILL_DR_ROLE,
  HSM_DRILL_PROBE_ROLE,
  HSM_EVIDENCE_SIGNER_ROLE,
  HSM_RECOVERY_ROLE,
  HSM_ROTATION_ROLE,
  LIFECYCLE_ROLES,
  VAULT_AUDITOR_ROLE,
  VAULT_ROTATION_ROLE,
  type LifecycleRole,
  type RbacInstanceKind,
} from "./lifecycleRoles";
import type { PlannedIdentity, RbacPrincipals } from "./rbacPrincipals";
import { EVIDENCE_KEY_NAME } from "../evidence/evidenceKeyName";

export interface RbacPlanInput {
  hsms: ReadonlyArray<{ name: string; role: "primary" | "drillTarget" }>;
  vaults: ReadonlyArray<{ name: string }>;
  drillPairs: ReadonlyArray<{ primary: string; target: string }>;
  rbacPrincipals: RbacPrincipals;
}

export interface PlannedRoleAssignment {
  instance: string;
  kind: RbacInstanceKind;
  /** "/", "/keys" or "/keys/{name}" (vaults: "/" = the vault). */
  scope: string;
  role: LifecycleRole;
  identity: PlannedIdentity;
  principalId: string;
  /** Planned on a drill target only (never on a primary): re-applied there after each full restore. */
  drOnly?: true;
}

export interface PlannedInstance {
  name: string;
  kind: RbacInstanceKind;
  role: "primary" | "drillTarget" | "vault";
  /** Custom role definitions to create on it (all of its kind: a definition alone grants nothing). */
  definitions: readonly LifecycleRole[];
  assignments: PlannedRoleAssignment[];
}

export interface RbacPlan {
  instances: PlannedInstance[];
  principals: RbacPrincipals;
}

/** Throws an Error naming the missing principal and the fix when the settings cannot give a complete plan. */
export function buildRbacPlan(input: RbacPlanInput): RbacPlan {
  const ids = input.rbacPrincipals.ids;
  const need = (identity: PlannedIdentity, why: string): string => {
    const id = ids[identity];
    if (id === undefined) throw new Error(`[SettingsInvalid] RBAC_PRINCIPAL_IDS has no "${identity}" object id, which ${why} needs. Fix: add ${identity}=<object id> to RBAC_PRINCIPAL_IDS.`);
    return id;
  };
  const definitionsOf = (kind: RbacInstanceKind): LifecycleRole[] => LIFECYCLE_ROLES.filter((r) => r.kind === kind);
  const primaryAssignments = (instance: string, drilled: boolean): PlannedRoleAssignment[] => {
    const a = (identity: PlannedIdentity, role: LifecycleRole, scope: string, principalId: string): PlannedRoleAssignment => ({ instance, kind: "managedHsm", scope, role, identity, principalId });
    const list = [a("rotation", HSM_ROTATION_ROLE, "/keys", need("rotation", "rotating HSM keys")), a("backup", HSM_BACKUP_ROLE, "/", need("backup", "the nightly backup"))];
    if (drilled) {
      list.push(a("drill", HSM_DRILL_PROBE_ROLE, "/", need("drill", "a drill pair")));
      // The drill identity seals reports and evidence packs with this one key (its probe role at "/" may narrow).
      list.push(a("drill", HSM_EVIDENCE_SIGNER_ROLE, `/keys/${EVIDENCE_KEY_NAME}`, need("drill", "a drill pair")));
      // Without a steward an administrator re-applies the drill's DR role after each full restore (`rbac apply`).
      if (ids.steward !== undefined) list.push(a("steward", HSM_DR_STEWARD_ROLE, "/", ids.steward));
    }
    // Key recovery only ever targets primaries (the request refuses any other HSM), but a full restore copies the
    // primary's assignments into DR, so DR carries this one like the others: planning it there keeps a drilled DR
    // free of false drift, at the cost of the recovery identity holding its role on a copy of the primary.
    if (ids.recovery !== undefined) list.push(a("recovery", HSM_RECOVERY_ROLE, "/", ids.recovery));
    if (ids.auditor !== undefined) list.push(a("auditor", HSM_AUDITOR_ROLE, "/", ids.auditor));
    return list;
  };
  const instances: PlannedInstance[] = [];
  for (const h of input.hsms) {
    if (h.role === "primary") {
      const drilled = input.drillPairs.some((p) => p.primary === h.name);
      instances.push({ name: h.name, kind: "managedHsm", role: "primary", definitions: definitionsOf("managedHsm"), assignments: primaryAssignments(h.name, drilled) });
      continue;
    }
    const pair = input.drillPairs.find((p) => p.target === h.name);
    const carried = pair === undefined ? [] : primaryAssignments(h.name, true);
    const drOnly: PlannedRoleAssignment = { instance: h.name, kind: "managedHsm", scope: "/", role: HSM_DRILL_DR_ROLE, identity: "drill", principalId: need("drill", "a drill pair"), drOnly: true };
    instances.push({ name: h.name, kind: "managedHsm", role: "drillTarget", definitions: definitionsOf("managedHsm"), assignments: [...carried, drOnly] });
  }
  for (const v of input.vaults) {
    const assignments: PlannedRoleAssignment[] = [{ instance: v.name, kind: "vault", scope: "/", role: VAULT_ROTATION_ROLE, identity: "rotation", principalId: need("rotation", "rotating vault keys") }];
    if (ids.auditor !== undefined) assignments.push({ instance: v.name, kind: "vault", scope: "/", role: VAULT_AUDITOR_ROLE, identity: "auditor", principalId: ids.auditor });
    instances.push({ name: v.name, kind: "vault", role: "vault", definitions: definitionsOf("vault"), assignments });
  }
  return { instances, principals: input.rbacPrincipals };
}

/** The DR-only assignments of one drill target (what the steward re-applies after a full restore). */
export function drOnlyAssignments(plan: RbacPlan, target: string): PlannedRoleAssignment[] {
  return plan.instances.find((i) => i.name === target)?.assignments.filter((a) => a.drOnly === true) ?? [];
}
