/**
 * RBAC_PRINCIPAL_IDS: the object ids role assignments name (a managed identity's client id is not its object id in
 * Entra). `identity=objectId` pairs separated by commas; `administrator` may repeat (principals expected to hold
 * role-write and restore, e.g. the security team's group).
 */
export const PLANNED_IDENTITIES = ["rotation", "backup", "drill", "steward", "recovery", "auditor"] as const;
export type PlannedIdentity = (typeof PLANNED_IDENTITIES)[number];

export interface RbacPrincipals {
  ids: Partial<Record<PlannedIdentity, string>>;
  administrators: readonly string[];
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Parses the setting; returns the problems instead of throwing (loadSettings reports them all at once). */
export function parseRbacPrincipals(raw: string): { principals: RbacPrincipals; problems: string[] } {
  const ids: Partial<Record<PlannedIdentity, string>> = {};
  const administrators: string[] = [];
  const problems: string[] = [];
  for (const entry of raw.split(",").map((p) => p.trim()).filter((p) => p !== "")) {
    const eq = entry.indexOf("=");
    const name = eq < 0 ? entry : entry.slice(0, eq).trim();
    const oid = eq < 0 ? "" : entry.slice(eq + 1).trim();
    if (!GUID.test(oid)) {
      problems.push(`entry "${name}" needs an object id (a GUID) after "=".`);
      continue;
    }
    if (name === "administrator") administrators.push(oid.toLowerCase());
    else if ((PLANNED_IDENTITIES as readonly string[]).includes(name)) {
      if (ids[name as PlannedIdentity] !== undefined) problems.push(`"${name}" is given twice.`);
      ids[name as PlannedIdentity] = oid.toLowerCase();
    } else problems.push(`unknown identity "${name}"; use ${[...PLANNED_IDENTITIES, "administrator"].join(", ")}.`);
  }
  return { principals: { ids, administrators }, problems };
}
