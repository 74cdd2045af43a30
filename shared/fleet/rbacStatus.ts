/**
 * The RBAC part of `status`: `rbac check`'s findings under "Needs attention" (drift is for a person to act on, the
 * status itself is complete); a check that cannot run is listed under "could not read".
 */
import { describeDrift } from "../rbac/rbacDiff";
import { diffRbac } from "../rbac/rbacApply";
import type { FleetContext } from "./fleetContext";
import { errorText } from "../errors/errorText";
import { rbacAdminCredential, rbacConnection, rbacPlanOf } from "./rbacContext";

export async function rbacStatus(ctx: FleetContext, credential: "managed-identity" | "default"): Promise<{ errors: string[]; attention: string[] }> {
  if (Object.keys(ctx.settings.rbacPrincipals.ids).length === 0) {
    return { errors: [], attention: ['RBAC drift is not checked: RBAC_PRINCIPAL_IDS is empty. Fix: set it (see "hsm-lifecycle rbac plan") and RBAC_ADMIN_CLIENT_ID.'] };
  }
  if (credential === "managed-identity" && ctx.settings.rbacAdminClientId === undefined) {
    return { errors: [], attention: ['RBAC drift is not checked: no administrator credential (RBAC_ADMIN_CLIENT_ID is empty). Fix: run "hsm-lifecycle status --credential default" signed in as an HSM administrator, or set RBAC_ADMIN_CLIENT_ID.'] };
  }
  try {
    const diffs = await diffRbac(rbacPlanOf(ctx), rbacConnection(ctx, rbacAdminCredential(ctx, credential)));
    return { errors: [], attention: diffs.flatMap(describeDrift).map((l) => `RBAC drift: ${l}. Fix: "hsm-lifecycle rbac check", then "hsm-lifecycle rbac apply" (other principals: remove by hand).`) };
  } catch (e) {
    return { errors: [`RBAC check: ${errorText(e)}`], attention: [] };
  }
}
