/**
 * `OPERATORS` / `APPROVERS`: object ids and Entra groups (`group:<object id>`), separated by commas. A principal is
 * listed when its object id is, or when its validated token (or App Service principal) names one of the groups.
 */
const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export interface PrincipalList {
  objectIds: string[];
  groups: string[];
}

/** An authenticated caller: its object id and the group ids its token carries. */
export interface Principal {
  oid: string;
  groups: string[];
}

/** Parses one list; throws naming the setting and the bad entry. */
export function parsePrincipalList(setting: string, raw: string): PrincipalList {
  const list: PrincipalList = { objectIds: [], groups: [] };
  for (const entry of raw.split(",").map((e) => e.trim()).filter((e) => e !== "")) {
    const group = /^group:(.*)$/i.exec(entry);
    const id = (group?.[1] ?? entry).trim();
    if (!GUID.test(id)) throw new Error(`${setting}: "${entry}" is neither an object id (GUID) nor group:<group object id>.`);
    (group === null ? list.objectIds : list.groups).push(id.toLowerCase());
  }
  return list;
}

export function isListed(principal: Principal, list: PrincipalList): boolean {
  const oid = principal.oid.toLowerCase();
  if (list.objectIds.includes(oid)) return true;
  return principal.groups.some((g) => list.groups.includes(g.toLowerCase()));
}

export function isGuid(text: string): boolean {
  return GUID.test(text);
}
