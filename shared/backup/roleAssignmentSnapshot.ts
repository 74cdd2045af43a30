import type { AdminPipeline } from "../hsm/adminPipeline";
import { isRecord } from "../hsm/adminPipeline";
import type { ManifestRoleAssignment } from "./backupManifest";

/**
 * Every role assignment of the HSM's local RBAC (all scopes: the list at "/" returns them all), as
 * (scope, role definition GUID, principal). Needs `roleAssignments/read/action`, which "Managed HSM Crypto
 * Auditor" grants the backup identity. Throws the pipeline's RestError on refusal.
 */
export async function roleAssignmentSnapshot(pipeline: AdminPipeline): Promise<ManifestRoleAssignment[]> {
  const out: ManifestRoleAssignment[] = [];
  let next: string | undefined = "//providers/Microsoft.Authorization/roleAssignments";
  while (next !== undefined) {
    const response: { body: { value?: unknown[]; nextLink?: string | null } } = await pipeline.send({ method: "GET", pathOrUrl: next, expectedStatuses: [200] });
    for (const wire of response.body.value ?? []) {
      const props = isRecord(wire) && isRecord(wire["properties"]) ? wire["properties"] : {};
      out.push({
        scope: typeof props["scope"] === "string" ? props["scope"] : "/",
        roleDefinitionId: (typeof props["roleDefinitionId"] === "string" ? props["roleDefinitionId"] : "").split("/").pop() ?? "",
        principalId: typeof props["principalId"] === "string" ? props["principalId"] : "?",
      });
    }
    next = response.body.nextLink ?? undefined;
  }
  return out;
}
