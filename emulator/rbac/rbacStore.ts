/**
 * Role definitions and assignments of one instance, and the authorizer every data-plane and admin call
 * goes through. Records live in the instance state (so they persist, are snapshotted by full backup and
 * replaced by full restore); built-in definitions are code, not state.
 */
import { KeyVaultError, keyVaultErrors } from "../errors";
import type { InstanceKind } from "../instanceKind";
import { builtInRoles, qualifyHsmAction, ROLE_DEFINITION_ID_PREFIX, toVaultAction } from "./builtInRoles";
import type { Permission, RoleAssignment, RoleDefinition } from "./rbacModel";

export interface RbacState {
  roleAssignments: RoleAssignment[];
  customRoleDefinitions: RoleDefinition[];
}

const MAX_CUSTOM_ROLES = 50;
// Managed HSM limits: 50 role assignments at HSM scope ("/" or "/keys"), 10 per individual key.
const MAX_ASSIGNMENTS_HSM_SCOPE = 50;
const MAX_ASSIGNMENTS_KEY_SCOPE = 10;
const NAME_PATTERN = /^[0-9A-Za-z-]{1,64}$/;

export function normalizeScope(scope: string): string {
  const collapsed = scope.replace(/\/+/g, "/").replace(/\/$/, "");
  return collapsed === "" ? "/" : collapsed;
}

export function validateScope(scope: string): string {
  const s = normalizeScope(scope);
  if (s === "/" || s.toLowerCase() === "/keys" || /^\/keys\/[0-9A-Za-z-]+$/i.test(s)) return s;
  throw keyVaultErrors.badParameter(`Invalid scope '${scope}'. Use "/", "/keys" or "/keys/{key-name}".`);
}

/** True when an assignment at `assignmentScope` applies to a request on `requestScope`. */
export function scopeCovers(assignmentScope: string, requestScope: string): boolean {
  const a = normalizeScope(assignmentScope).toLowerCase();
  const r = normalizeScope(requestScope).toLowerCase();
  return a === "/" || r === a || r.startsWith(a + "/");
}

const compiled = new Map<string, RegExp>();

function wildcardMatch(pattern: string, action: string): boolean {
  let re = compiled.get(pattern);
  if (re === undefined) {
    re = toRegExp(pattern);
    compiled.set(pattern, re);
  }
  return re.test(action);
}

function toRegExp(pattern: string): RegExp {
  return new RegExp("^" + pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*") + "$", "i");
}

function permits(permissions: Permission[], action: string, controlPlane: boolean): boolean {
  return permissions.some((p) => {
    const allow = controlPlane ? p.actions : p.dataActions;
    const deny = controlPlane ? p.notActions : p.notDataActions;
    return allow.some((a) => wildcardMatch(a, action)) && !deny.some((a) => wildcardMatch(a, action));
  });
}

function definitionName(roleDefinitionId: string): string {
  const parts = roleDefinitionId.split("/");
  return (parts[parts.length - 1] ?? "").toLowerCase();
}

function assignmentId(scope: string, name: string): string {
  return `${scope === "/" ? "" : scope}/providers/Microsoft.Authorization/roleAssignments/${name}`;
}

export class RbacStore {
  constructor(
    private readonly kind: InstanceKind,
    private readonly state: () => RbacState,
  ) {}

  definitions(): RoleDefinition[] {
    return [...builtInRoles(this.kind), ...this.state().customRoleDefinitions];
  }

  findDefinition(nameOrId: string): RoleDefinition | undefined {
    const name = definitionName(nameOrId);
    return this.definitions().find((d) => d.name.toLowerCase() === name);
  }

  /** Resolves the action the caller needs on this flavour (vaults use their own data action names). */
  resolveAction(action: string, vaultAction?: string): { action: string; controlPlane: boolean } | undefined {
    let resolved: string | undefined;
    if (this.kind === "managedHsm") resolved = qualifyHsmAction(action);
    else resolved = vaultAction ?? (action.startsWith("Microsoft.KeyVault/vaults/") || action.startsWith("Microsoft.Authorization/") ? action : toVaultAction(action));
    if (resolved === undefined) return undefined;
    return { action: resolved, controlPlane: resolved.startsWith("Microsoft.Authorization/") };
  }

  isAllowed(oid: string, action: string, scope: string, vaultAction?: string): boolean {
    const resolved = this.resolveAction(action, vaultAction);
    if (resolved === undefined) return false;
    for (const a of this.state().roleAssignments) {
      if (a.properties.principalId.toLowerCase() !== oid.toLowerCase()) continue;
      if (!scopeCovers(a.properties.scope, scope)) continue;
      const def = this.findDefinition(a.properties.roleDefinitionId);
      if (def !== undefined && permits(def.properties.permissions, resolved.action, resolved.controlPlane)) return true;
    }
    return false;
  }

  /** Throws 403 Forbidden (innererror ForbiddenByRbac) naming the missing action. */
  authorize(oid: string, action: string, scope: string, vaultAction?: string): void {
    if (this.isAllowed(oid, action, scope, vaultAction)) return;
    const resolved = this.resolveAction(action, vaultAction);
    const name = resolved?.action ?? action;
    throw keyVaultErrors.forbiddenByRbac(
      `Operation not allowed. Caller is not authorized to perform action on resource.\r\nCaller: oid=${oid}\r\nAction: '${name}'\r\nResource: '${normalizeScope(scope)}'\r\nGrant a role that has this data action at this scope (or above) with a role assignment.`,
    );
  }

  // ---- role definitions ----

  listDefinitions(filter: string | null): RoleDefinition[] {
    const m = filter === null ? null : /roleName\s+eq\s+'([^']*)'/i.exec(filter);
    const all = this.definitions();
    return m ? all.filter((d) => d.properties.roleName === m[1]) : all;
  }

  getDefinition(name: string): RoleDefinition {
    const def = this.findDefinition(name);
    if (def === undefined) throw new KeyVaultError(404, "RoleDefinitionNotFound", `Role definition '${name}' was not found.`);
    return def;
  }

  putDefinition(scope: string, name: string, body: unknown): { definition: RoleDefinition; created: boolean } {
    if (normalizeScope(scope) !== "/") throw keyVaultErrors.badParameter("Managed HSM only supports '/' as the scope of role definitions.");
    if (!NAME_PATTERN.test(name)) throw keyVaultErrors.badParameter(`Invalid role definition name '${name}': use a GUID.`);
    if (builtInRoles(this.kind).some((d) => d.name.toLowerCase() === name.toLowerCase())) {
      throw keyVaultErrors.badParameter("Cannot re-use the name/GUID matching that of a built-in role. Please use a unique role ID.");
    }
    const props = (body as { properties?: Record<string, unknown> } | undefined)?.properties;
    if (props === undefined || typeof props !== "object") throw keyVaultErrors.badParameter("The request body must have 'properties'.");
    const permissions = parsePermissions(props["permissions"]);
    const roleName = typeof props["roleName"] === "string" ? props["roleName"] : name;
    const description = typeof props["description"] === "string" ? props["description"] : "";
    const state = this.state();
    const existing = state.customRoleDefinitions.findIndex((d) => d.name.toLowerCase() === name.toLowerCase());
    if (existing < 0 && state.customRoleDefinitions.length >= MAX_CUSTOM_ROLES) {
      throw keyVaultErrors.badParameter(`Limit reached: a Managed HSM holds at most ${MAX_CUSTOM_ROLES} custom role definitions.`);
    }
    const definition: RoleDefinition = {
      id: ROLE_DEFINITION_ID_PREFIX + name,
      name,
      type: "Microsoft.Authorization/roleDefinitions",
      properties: { roleName, description, type: "CustomRole", assignableScopes: ["/"], permissions },
    };
    if (existing >= 0) state.customRoleDefinitions[existing] = definition;
    else state.customRoleDefinitions.push(definition);
    return { definition, created: existing < 0 };
  }

  deleteDefinition(name: string): RoleDefinition {
    const state = this.state();
    const idx = state.customRoleDefinitions.findIndex((d) => d.name.toLowerCase() === name.toLowerCase());
    if (idx < 0) {
      if (builtInRoles(this.kind).some((d) => d.name.toLowerCase() === name.toLowerCase())) {
        throw keyVaultErrors.badParameter("Built-in role definitions cannot be deleted.");
      }
      throw new KeyVaultError(404, "RoleDefinitionNotFound", `Role definition '${name}' was not found.`);
    }
    if (state.roleAssignments.some((a) => definitionName(a.properties.roleDefinitionId) === name.toLowerCase())) {
      throw keyVaultErrors.badParameter("The role definition is in use by role assignments; delete them first.");
    }
    const [removed] = state.customRoleDefinitions.splice(idx, 1);
    return removed as RoleDefinition;
  }

  // ---- role assignments ----

  listAssignments(scope: string, filter: string | null): RoleAssignment[] {
    const s = normalizeScope(scope);
    let list = this.state().roleAssignments;
    if (filter !== null && /atScope\(\)/i.test(filter)) list = list.filter((a) => scopeCovers(a.properties.scope, s));
    else list = list.filter((a) => scopeCovers(a.properties.scope, s) || scopeCovers(s, a.properties.scope));
    const principal = filter === null ? null : /principalId\s+eq\s+'([^']*)'/i.exec(filter);
    if (principal) list = list.filter((a) => a.properties.principalId.toLowerCase() === (principal[1] ?? "").toLowerCase());
    return list;
  }

  getAssignment(scope: string, name: string): RoleAssignment {
    const found = this.state().roleAssignments.find((a) => a.name.toLowerCase() === name.toLowerCase());
    if (found === undefined || (normalizeScope(scope) !== "/" && normalizeScope(found.properties.scope).toLowerCase() !== normalizeScope(scope).toLowerCase())) {
      throw new KeyVaultError(404, "RoleAssignmentNotFound", `Role assignment '${name}' was not found at scope '${normalizeScope(scope)}'.`);
    }
    return found;
  }

  putAssignment(scope: string, name: string, body: unknown): RoleAssignment {
    const s = validateScope(scope);
    if (!NAME_PATTERN.test(name)) throw keyVaultErrors.badParameter(`Invalid role assignment name '${name}': use a GUID.`);
    const props = (body as { properties?: Record<string, unknown> } | undefined)?.properties;
    const roleDefinitionId = props?.["roleDefinitionId"];
    const principalId = props?.["principalId"];
    if (typeof roleDefinitionId !== "string" || typeof principalId !== "string" || principalId === "") {
      throw keyVaultErrors.badParameter("A role assignment needs properties.roleDefinitionId and properties.principalId.");
    }
    const def = this.findDefinition(roleDefinitionId);
    if (def === undefined) throw keyVaultErrors.badParameter(`The role definition '${roleDefinitionId}' does not exist on this instance.`);
    const state = this.state();
    if (state.roleAssignments.some((a) => a.name.toLowerCase() === name.toLowerCase())) {
      throw keyVaultErrors.conflict(`The role assignment '${name}' already exists. Delete it first or use another name.`);
    }
    const atScope = state.roleAssignments.filter((a) => normalizeScope(a.properties.scope).toLowerCase() === s.toLowerCase()).length;
    const limit = s.toLowerCase().startsWith("/keys/") ? MAX_ASSIGNMENTS_KEY_SCOPE : MAX_ASSIGNMENTS_HSM_SCOPE;
    if (atScope >= limit) throw keyVaultErrors.badParameter(`Limit reached: at most ${limit} role assignments at scope '${s}'. Delete unused assignments first.`);
    const assignment: RoleAssignment = {
      id: assignmentId(s, name),
      name,
      type: "Microsoft.Authorization/roleAssignments",
      properties: { principalId, scope: s, roleDefinitionId: def.id },
    };
    state.roleAssignments.push(assignment);
    return assignment;
  }

  deleteAssignment(scope: string, name: string): RoleAssignment {
    const found = this.getAssignment(scope, name);
    const state = this.state();
    state.roleAssignments.splice(state.roleAssignments.indexOf(found), 1);
    return found;
  }

  /** Adds `roleIds` at "/" for a principal (used for --admin); idempotent. */
  grantAtRoot(principalId: string, roleIds: string[], nameFor: (roleId: string) => string): void {
    for (const roleId of roleIds) {
      const exists = this.state().roleAssignments.some(
        (a) => a.properties.principalId === principalId && a.properties.scope === "/" && definitionName(a.properties.roleDefinitionId) === roleId,
      );
      if (!exists) this.putAssignment("/", nameFor(roleId), { properties: { roleDefinitionId: roleId, principalId } });
    }
  }
}

function parsePermissions(value: unknown): Permission[] {
  if (!Array.isArray(value)) throw keyVaultErrors.badParameter("properties.permissions must be an array of {actions, notActions, dataActions, notDataActions}.");
  const strings = (v: unknown, field: string): string[] => {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw keyVaultErrors.badParameter(`permissions[].${field} must be an array of strings.`);
    return v as string[];
  };
  return value.map((p: Record<string, unknown>) => ({
    actions: strings(p?.["actions"], "actions"),
    notActions: strings(p?.["notActions"], "notActions"),
    dataActions: strings(p?.["dataActions"], "dataActions"),
    notDataActions: strings(p?.["notDataActions"], "notDataActions"),
  }));
}
