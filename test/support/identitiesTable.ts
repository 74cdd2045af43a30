import type { RbacPlan } from "../../shared/rbac/rbacPlan";
import { PLANNED_IDENTITIES } from "../../shared/rbac/rbacPrincipals";

/** README's identities table, rendered from an RBAC plan with one primary, its drill target and one vault. */
export function identitiesTable(plan: RbacPlan): string {
  const of = (role: string, identity: string): string => {
    const instance = plan.instances.find((i) => i.role === role);
    const cells = (instance?.assignments ?? [])
      .filter((a) => a.identity === identity)
      .map((a) => `${a.role.roleName} at \`${a.scope}\`${a.drOnly ? " (DR only; the steward re-applies it after each full restore)" : ""}`);
    return cells.length === 0 ? "—" : cells.join(", ");
  };
  const rows = PLANNED_IDENTITIES.map((identity) => `| ${identity} | ${of("primary", identity)} | ${of("drillTarget", identity)} | ${of("vault", identity)} |`);
  return ["| identity | primary HSM | DR HSM (also carries the primary's, which every full restore brings) | vaults |", "|---|---|---|---|", ...rows].join("\n");
}
