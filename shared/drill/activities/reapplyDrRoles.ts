/**
 * Activity `reapplyDrRoles`, run as the DR steward identity right after a full restore into DR: the restore replaced
 * DR's role assignments with the primary's, which never hold the drill's DR-only role (the one that can restore), so
 * the steward puts that assignment back from the RBAC plan. Then it checks, from DR's assignments as they now are,
 * that the drill identity holds what the next drill needs, and returns a warning naming the fix if not.
 *
 * It writes only to a configured drill target (the same interlock as the drill), only the plan's DR-only
 * assignments, and never removes anything.
 */
import type { TokenCredential } from "@azure/core-auth";
import type { Settings } from "../../config/settings";
import { assessDrillConfig } from "../assessDrillSafety";
import { missingForNextDrill, nextDrillWarning } from "../nextDrillReadiness";
import { fromRestError } from "../../errors/fromRestError";
import { LifecycleError } from "../../errors/lifecycleError";
import type { KeyVaultAdminClientOptions } from "../../hsm/adminPipeline";
import { KeyVaultAccessControlClient } from "../../hsm/keyVaultAccessControlClient";
import { assignmentName } from "../../rbac/assignmentName";
import { roleDefinitionIdOf } from "../../rbac/lifecycleRoles";
import { readLiveRbac } from "../../rbac/rbacLiveState";
import { buildRbacPlan, drOnlyAssignments } from "../../rbac/rbacPlan";

export interface StewardDeps {
  settings: Pick<Settings, "hsms" | "vaults" | "drillPairs" | "rbacPrincipals">;
  /** The DR steward's identity (DR_STEWARD_IDENTITY_CLIENT_ID). */
  credential: TokenCredential;
  adminOptions: KeyVaultAdminClientOptions;
}

export interface ReapplyDrRolesOutput {
  /** The assignments put back, one line each. */
  applied: string[];
  /** What the next drill would still lack (empty when ready). */
  warnings: string[];
}

export async function reapplyDrRoles(input: { primary: string; target: string }, deps: StewardDeps): Promise<ReapplyDrRolesOutput> {
  const verdict = assessDrillConfig(deps.settings, input);
  if (!verdict.safe) throw new LifecycleError("DrillRefused", `Refusing to write role assignments on "${input.target}": ${verdict.reasons.join(" ")}`);
  let plan;
  try {
    plan = buildRbacPlan(deps.settings);
  } catch (e) {
    throw new LifecycleError("SettingsInvalid", (e as Error).message.replace(/^\[SettingsInvalid\] /, ""));
  }
  const wanted = drOnlyAssignments(plan, input.target);
  const client = new KeyVaultAccessControlClient(verdict.targetUrl, deps.credential, deps.adminOptions);
  const context = (operation: string) => ({ service: "managedHsm" as const, operation, resource: verdict.targetUrl, requiredRole: "HSM Lifecycle DR Steward" as const, requiredScope: "/" });
  let live;
  try {
    live = await readLiveRbac(client);
  } catch (e) {
    throw fromRestError(e, context("read DR's role assignments (DR steward)"));
  }
  const applied: string[] = [];
  for (const a of wanted) {
    const present = live.assignments.some((l) => l.principalId === a.principalId.toLowerCase() && l.roleDefinitionName === a.role.name && l.scope.toLowerCase() === a.scope.toLowerCase());
    if (present) continue;
    try {
      await client.createRoleAssignment(a.scope, assignmentName(input.target, a.scope, a.role.name, a.principalId), roleDefinitionIdOf(a.role), a.principalId);
    } catch (e) {
      throw fromRestError(e, context(`re-apply "${a.role.roleName}" for the drill identity (DR steward)`));
    }
    live.assignments.push({ name: "", scope: a.scope, roleDefinitionName: a.role.name, principalId: a.principalId.toLowerCase() });
    applied.push(`"${a.role.roleName}" → ${a.identity} (${a.principalId}) at ${a.scope}`);
  }
  const drill = plan.principals.ids.drill ?? "";
  const facts = live.assignments.map((l) => ({ scope: l.scope, roleDefinitionId: l.roleDefinitionName, principalId: l.principalId }));
  const definitions = new Map([...live.definitions].map(([name, d]) => [name, d.permissions] as const));
  const missing = missingForNextDrill(drill, facts, definitions);
  return { applied, warnings: missing.length === 0 ? [] : [nextDrillWarning(drill, missing)] };
}
