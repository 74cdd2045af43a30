/**
 * Applies the stack's RBAC plan through `rbac apply`'s code (shared/rbac/rbacApply.ts) with the operator's
 * credential, as an operator would run `hsm-lifecycle rbac apply`: idempotent, so a restart on the same state dir
 * only adds what is missing (and removes what an earlier version of the stack assigned to our identities).
 */
import type { TokenCredential } from "@azure/core-auth";
import { LIFECYCLE_ROLES } from "../shared/rbac/lifecycleRoles";
import { applyRbac } from "../shared/rbac/rbacApply";
import type { PlannedInstance, PlannedRoleAssignment } from "../shared/rbac/rbacPlan";
import { stackRbacPrincipals, type StackIdentities } from "./stackIdentities";

/** Returns how many assignments were added. */
export async function seedRoleAssignments(
  plan: readonly PlannedRoleAssignment[],
  identities: StackIdentities,
  urls: Record<string, string>,
  credential: TokenCredential,
  ca: string,
): Promise<number> {
  const instances = new Map<string, PlannedInstance>();
  for (const a of plan) {
    let i = instances.get(a.instance);
    if (i === undefined) {
      i = { name: a.instance, kind: a.kind, role: a.kind === "vault" ? "vault" : a.drOnly ? "drillTarget" : "primary", definitions: LIFECYCLE_ROLES.filter((r) => r.kind === a.kind), assignments: [] };
      instances.set(a.instance, i);
    }
    if (a.drOnly) i.role = "drillTarget";
    i.assignments.push(a);
  }
  const result = await applyRbac({ instances: [...instances.values()], principals: stackRbacPrincipals(identities) }, { urls, credential, clientOptions: { tlsOptions: { ca }, disableChallengeResourceVerification: true } });
  return result.diffs.reduce((n, d) => n + d.missing.length, 0);
}
