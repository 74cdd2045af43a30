/** The role definitions and assignments one HSM or vault holds now, read through the RBAC API. */
import type { KeyVaultAccessControlClient } from "../hsm/keyVaultAccessControlClient";
import type { KeyVaultPermission } from "../hsm/keyVaultAccessControlClientModels";

export interface LiveAssignment {
  name: string;
  scope: string;
  /** The definition's GUID, lower case. */
  roleDefinitionName: string;
  principalId: string;
}

export interface LiveDefinition {
  name: string;
  roleName: string;
  custom: boolean;
  permissions: KeyVaultPermission[];
}

export interface LiveRbac {
  definitions: Map<string, LiveDefinition>;
  assignments: LiveAssignment[];
}

export function definitionNameOf(roleDefinitionId: string): string {
  return (roleDefinitionId.split("/").pop() ?? "").toLowerCase();
}

export async function readLiveRbac(client: Pick<KeyVaultAccessControlClient, "listRoleDefinitions" | "listRoleAssignments">): Promise<LiveRbac> {
  const definitions = new Map<string, LiveDefinition>();
  for await (const d of client.listRoleDefinitions("/")) {
    definitions.set(d.name.toLowerCase(), { name: d.name.toLowerCase(), roleName: d.roleName ?? d.name, custom: d.roleType === "CustomRole", permissions: d.permissions });
  }
  const assignments: LiveAssignment[] = [];
  for await (const a of client.listRoleAssignments("/")) {
    const p = a.properties;
    if (p.scope === undefined || p.roleDefinitionId === undefined || p.principalId === undefined) continue;
    assignments.push({ name: a.name, scope: p.scope, roleDefinitionName: definitionNameOf(p.roleDefinitionId), principalId: p.principalId.toLowerCase() });
  }
  return { definitions, assignments };
}
