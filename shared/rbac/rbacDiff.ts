/**
 * Compares one instance's live RBAC with its plan: what `rbac check` reports and `rbac apply` changes.
 *
 * - missing: a planned assignment that is not there (the workflow will fail with [MissingRole]);
 * - definitions: a lifecycle role definition that is absent or grants other actions than planned;
 * - extra: an assignment of one of our identities that the plan does not hold; over-broad when it grants an action
 *   the identity's planned roles on this instance do not;
 * - privileged: any other principal (not ours, not an administrator) holding restore/start, purge or role-write.
 */
import { KNOWN_ACTIONS } from "./dataActionCatalog";
import { grants, scopeCovers } from "./grants";
import { PRIVILEGED_ACTIONS, type LifecycleRole } from "./lifecycleRoles";
import type { LiveAssignment, LiveRbac } from "./rbacLiveState";
import type { PlannedInstance, PlannedRoleAssignment } from "./rbacPlan";
import type { PlannedIdentity, RbacPrincipals } from "./rbacPrincipals";

export interface ExtraAssignment {
  assignment: LiveAssignment;
  roleName: string;
  identity: PlannedIdentity;
  /** Actions it grants beyond the identity's plan (empty: redundant, not over-broad). */
  beyondPlan: string[];
}

export interface PrivilegedHolder {
  assignment: LiveAssignment;
  roleName: string;
  actions: string[];
}

export interface InstanceRbacDiff {
  instance: string;
  definitions: Array<{ role: LifecycleRole; state: "absent" | "outdated" }>;
  missing: PlannedRoleAssignment[];
  extra: ExtraAssignment[];
  privileged: PrivilegedHolder[];
}

export function permissionsOf(role: LifecycleRole): Array<{ actions: string[]; notActions: string[]; dataActions: string[]; notDataActions: string[] }> {
  return [{ actions: [...role.actions], notActions: [], dataActions: [...role.dataActions], notDataActions: [] }];
}

const same = (a: readonly string[] | undefined, b: readonly string[]): boolean => {
  const x = [...(a ?? [])].map((s) => s.toLowerCase()).sort();
  const y = [...b].map((s) => s.toLowerCase()).sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
};

export function diffInstanceRbac(planned: PlannedInstance, live: LiveRbac, principals: RbacPrincipals): InstanceRbacDiff {
  const definitions: InstanceRbacDiff["definitions"] = [];
  for (const role of planned.definitions) {
    const d = live.definitions.get(role.name);
    if (d === undefined) definitions.push({ role, state: "absent" });
    else if (d.permissions.length !== 1 || !same(d.permissions[0]?.dataActions, role.dataActions) || !same(d.permissions[0]?.actions, role.actions) || (d.permissions[0]?.notDataActions ?? []).length > 0) {
      definitions.push({ role, state: "outdated" });
    }
  }
  const matches = (p: PlannedRoleAssignment, a: LiveAssignment): boolean =>
    a.principalId === p.principalId.toLowerCase() && a.roleDefinitionName === p.role.name && a.scope.toLowerCase() === p.scope.toLowerCase();
  const missing = planned.assignments.filter((p) => !live.assignments.some((a) => matches(p, a)));

  const identityOf = new Map<string, PlannedIdentity>();
  for (const [identity, id] of Object.entries(principals.ids)) if (id !== undefined) identityOf.set(id.toLowerCase(), identity as PlannedIdentity);
  const universe = KNOWN_ACTIONS[planned.kind];
  const grantedTo = (a: LiveAssignment): string[] => {
    const def = live.definitions.get(a.roleDefinitionName);
    return def === undefined ? [] : universe.filter((action) => grants(def.permissions, action));
  };
  const plannedGrant = (principalId: string, action: string, scope: string): boolean =>
    planned.assignments.some((p) => p.principalId.toLowerCase() === principalId && scopeCovers(p.scope, scope) && grants(permissionsOf(p.role), action));

  const extra: ExtraAssignment[] = [];
  const privileged: PrivilegedHolder[] = [];
  const admins = new Set(principals.administrators.map((a) => a.toLowerCase()));
  for (const a of live.assignments) {
    const roleName = live.definitions.get(a.roleDefinitionName)?.roleName ?? a.roleDefinitionName;
    const identity = identityOf.get(a.principalId);
    if (identity !== undefined) {
      if (planned.assignments.some((p) => matches(p, a))) continue;
      extra.push({ assignment: a, roleName, identity, beyondPlan: grantedTo(a).filter((action) => !plannedGrant(a.principalId, action, a.scope)) });
      continue;
    }
    if (admins.has(a.principalId)) continue;
    const held = grantedTo(a).filter((action) => PRIVILEGED_ACTIONS[planned.kind].includes(action));
    if (held.length > 0) privileged.push({ assignment: a, roleName, actions: held });
  }
  return { instance: planned.name, definitions, missing, extra, privileged };
}

export function hasDrift(d: InstanceRbacDiff): boolean {
  return d.definitions.length + d.missing.length + d.extra.length + d.privileged.length > 0;
}

/** One line per finding, for people (`rbac check`, `rbac apply`'s diff, `status`). */
export function describeDrift(d: InstanceRbacDiff): string[] {
  const lines: string[] = [];
  for (const x of d.definitions) lines.push(`${d.instance}: role definition "${x.role.roleName}" (${x.role.name}) is ${x.state === "absent" ? "missing" : "not as planned"}`);
  for (const m of d.missing) lines.push(`${d.instance}: missing "${m.role.roleName}" for ${m.identity} (${m.principalId}) at ${m.scope}`);
  for (const x of d.extra) {
    const what = x.beyondPlan.length > 0 ? `over-broad: grants ${x.beyondPlan.map(short).join(", ")} beyond its plan` : "extra (not in the plan)";
    lines.push(`${d.instance}: ${x.identity} (${x.assignment.principalId}) holds "${x.roleName}" at ${x.assignment.scope}: ${what}`);
  }
  for (const p of d.privileged) lines.push(`${d.instance}: principal ${p.assignment.principalId} (not ours, not an administrator) holds "${p.roleName}" at ${p.assignment.scope}, which grants ${p.actions.map(short).join(", ")}`);
  return lines;
}

function short(action: string): string {
  return action.replace(/^Microsoft\.KeyVault\/(managedHsm|vaults)\//, "");
}
