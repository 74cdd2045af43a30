/**
 * Whether role permissions grant an action, as Managed HSM local RBAC and Azure RBAC evaluate them: a permission
 * allows what its (data) actions list, wildcards included, minus what its not(Data)Actions exclude.
 */
import type { KeyVaultPermission } from "../hsm/keyVaultAccessControlClientModels";
import { isControlPlaneAction } from "./dataActionCatalog";

export function grants(permissions: readonly KeyVaultPermission[], action: string): boolean {
  const control = isControlPlaneAction(action);
  return permissions.some((p) => {
    const allow = (control ? p.actions : p.dataActions) ?? [];
    const deny = (control ? p.notActions : p.notDataActions) ?? [];
    return allow.some((g) => wildcardMatch(g, action)) && !deny.some((g) => wildcardMatch(g, action));
  });
}

function wildcardMatch(pattern: string, action: string): boolean {
  if (!pattern.includes("*")) return pattern.toLowerCase() === action.toLowerCase();
  const re = new RegExp("^" + pattern.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*") + "$", "i");
  return re.test(action);
}

/** True when an assignment at `assignmentScope` applies to a request at `requestScope` ("/" covers all). */
export function scopeCovers(assignmentScope: string, requestScope: string): boolean {
  const a = assignmentScope.toLowerCase().replace(/\/+$/, "") || "/";
  const r = requestScope.toLowerCase().replace(/\/+$/, "") || "/";
  return a === "/" || r === a || r.startsWith(a + "/");
}
