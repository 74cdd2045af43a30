/**
 * Makes the live RBAC of every planned instance match the plan, idempotently, with an administrator's credential:
 * writes the lifecycle role definitions that are absent or outdated, creates missing assignments (names derived
 * from instance, scope, role and principal), and removes our identities' assignments the plan does not hold. Other
 * principals' assignments are never touched (`rbac check` reports the privileged ones). The diff comes first; with
 * `dryRun` nothing is written.
 */
import type { TokenCredential } from "@azure/core-auth";
import { KeyVaultAccessControlClient } from "../hsm/keyVaultAccessControlClient";
import type { KeyVaultAdminClientOptions } from "../hsm/adminPipeline";
import { assignmentName } from "./assignmentName";
import { describeDrift, diffInstanceRbac, permissionsOf, type InstanceRbacDiff } from "./rbacDiff";
import { readLiveRbac } from "./rbacLiveState";
import { roleDefinitionIdOf } from "./lifecycleRoles";
import type { RbacPlan } from "./rbacPlan";

export type RbacClient = Pick<KeyVaultAccessControlClient, "listRoleDefinitions" | "listRoleAssignments" | "setRoleDefinition" | "createRoleAssignment" | "deleteRoleAssignment">;

export interface RbacConnection {
  /** Instance name → URL (every instance of the plan). */
  urls: Readonly<Record<string, string>>;
  credential: TokenCredential;
  clientOptions?: KeyVaultAdminClientOptions;
}

export function rbacClientFor(connection: RbacConnection, instance: string): RbacClient {
  const url = connection.urls[instance];
  if (url === undefined) throw new Error(`The RBAC plan names instance "${instance}", which has no URL in the settings (HSMS/VAULTS).`);
  return new KeyVaultAccessControlClient(url, connection.credential, connection.clientOptions ?? {});
}

/** Reads every planned instance and diffs it (read only: what `rbac check` runs). */
export async function diffRbac(plan: RbacPlan, connection: RbacConnection): Promise<InstanceRbacDiff[]> {
  return Promise.all(plan.instances.map(async (i) => diffInstanceRbac(i, await readLiveRbac(rbacClientFor(connection, i.name)), plan.principals)));
}

export interface ApplyResult {
  diffs: InstanceRbacDiff[];
  /** The changes, one line each ("+ …" written, "- …" removed); what a dry run would do. */
  changes: string[];
  applied: boolean;
}

export async function applyRbac(plan: RbacPlan, connection: RbacConnection, options: { dryRun?: boolean; log?: (line: string) => void } = {}): Promise<ApplyResult> {
  const diffs = await diffRbac(plan, connection);
  const changes: string[] = [];
  for (const d of diffs) {
    for (const x of d.definitions) changes.push(`+ ${d.instance}: role definition "${x.role.roleName}" (${x.state === "absent" ? "create" : "rewrite"})`);
    for (const m of d.missing) changes.push(`+ ${d.instance}: assign "${m.role.roleName}" to ${m.identity} (${m.principalId}) at ${m.scope}`);
    for (const x of d.extra) changes.push(`- ${d.instance}: remove "${x.roleName}" of ${x.identity} (${x.assignment.principalId}) at ${x.assignment.scope}`);
    for (const line of describeDrift({ ...d, definitions: [], missing: [], extra: [] })) changes.push(`! ${line} (left alone: not ours; remove it by hand if unintended)`);
  }
  for (const line of changes) options.log?.(line);
  if (options.dryRun) return { diffs, changes, applied: false };
  for (const d of diffs) {
    const client = rbacClientFor(connection, d.instance);
    // Definitions first: an assignment must name an existing definition.
    for (const x of d.definitions) {
      await client.setRoleDefinition("/", { roleDefinitionName: x.role.name, roleName: x.role.roleName, description: x.role.description, permissions: permissionsOf(x.role), assignableScopes: ["/"] });
    }
    for (const m of d.missing) await client.createRoleAssignment(m.scope, assignmentName(d.instance, m.scope, m.role.name, m.principalId), roleDefinitionIdOf(m.role), m.principalId);
    for (const x of d.extra) await client.deleteRoleAssignment(x.assignment.scope, x.assignment.name);
  }
  return { diffs, changes, applied: true };
}
