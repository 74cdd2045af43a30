/**
 * Creates the planned role assignments through the real RBAC API (our KeyVaultAccessControlClient, as an
 * operator would with `az keyvault role assignment create`). Idempotent: an assignment of the same role to the
 * same principal at the same scope is left alone (whatever its name), so seeding again — a restart on the same
 * state dir, or after a drill's full restore replaced the DR HSM's assignments with the primary's — only adds
 * what is missing. New assignments get names derived from (instance, scope, role, principal).
 */
import { createHash } from "node:crypto";
import type { TokenCredential } from "@azure/core-auth";
import { KeyVaultAccessControlClient } from "../shared/hsm/keyVaultAccessControlClient";
import type { PlannedAssignment, StackIdentities } from "./stackIdentities";

export function assignmentName(instance: string, a: PlannedAssignment, principalId: string): string {
  const h = createHash("sha256").update(`${instance}|${a.scope}|${a.roleDefinitionId}|${principalId}`).digest("hex");
  // A GUID-shaped name (version nibble 5 as name-based UUIDs have), stable for the same inputs.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Returns how many assignments were added. */
export async function seedRoleAssignments(
  plan: readonly PlannedAssignment[],
  identities: StackIdentities,
  urls: Record<string, string>,
  credential: TokenCredential,
  ca: string,
): Promise<number> {
  let added = 0;
  const clients = new Map<string, { client: KeyVaultAccessControlClient; existing: Set<string> }>();
  const key = (roleDefinitionId: string, principalId: string): string => `${roleDefinitionId.split("/").pop()?.toLowerCase()}|${principalId.toLowerCase()}`;
  for (const a of plan) {
    const url = urls[a.instance];
    if (url === undefined) throw new Error(`Role plan names instance "${a.instance}", which the stack did not start.`);
    let entry = clients.get(a.instance);
    if (entry === undefined) {
      const client = new KeyVaultAccessControlClient(url, credential, { tlsOptions: { ca }, disableChallengeResourceVerification: true });
      const existing = new Set<string>();
      for await (const r of client.listRoleAssignments(a.scope)) {
        if (r.properties.scope === a.scope && r.properties.roleDefinitionId && r.properties.principalId) existing.add(key(r.properties.roleDefinitionId, r.properties.principalId));
      }
      entry = { client, existing };
      clients.set(a.instance, entry);
    }
    const { client, existing } = entry;
    const principalId = identities[a.principal];
    if (existing.has(key(a.roleDefinitionId, principalId))) continue;
    if (a.customRole !== undefined) {
      await client.setRoleDefinition("/", {
        roleDefinitionName: a.customRole.name,
        roleName: a.customRole.roleName,
        description: a.customRole.description,
        permissions: [{ actions: [], notActions: [], dataActions: a.customRole.dataActions, notDataActions: [] }],
        assignableScopes: ["/"],
      });
    }
    await client.createRoleAssignment(a.scope, assignmentName(a.instance, a, principalId), a.roleDefinitionId, principalId);
    existing.add(key(a.roleDefinitionId, principalId));
    added++;
  }
  return added;
}
