/**
 * Role definitions and role assignments (rbac.json): `/{scope}/providers/Microsoft.Authorization/...`.
 * The pipeline extracts `scope` from the multi-slash paths the SDK sends (`///providers/...` is "/",
 * `//keys/providers/...` is "/keys"). PUT answers 201, DELETE 200 with the deleted record.
 */
import type { RequestContext } from "../http/requestContext";
import { pageOf } from "../http/paging";
import type { RouteTable } from "../http/routes";
import { validateScope } from "../rbac/rbacStore";

const scopeOf = (ctx: RequestContext): string => ctx.params["scope"] ?? "/";
const listPath = (scope: string, kind: string): string => `${scope === "/" ? "" : scope}/providers/Microsoft.Authorization/${kind}`;

// Microsoft's logging article says role management is logged but publishes no operation names for it: the Role…
// names below are the emulator's reading (auditlog/unconfirmedOperationNames.ts, with the sources).
export function registerRbacRoutes(table: RouteTable): void {
  const defs = "/providers/Microsoft.Authorization/roleDefinitions";
  const assigns = "/providers/Microsoft.Authorization/roleAssignments";

  table.add({
    method: "GET",
    pattern: defs,
    operationName: "RoleDefinitionList",
    handler: (ctx) => {
      const scope = validateScope(scopeOf(ctx));
      ctx.authorize("roleDefinitions/read/action", scope);
      return ctx.json(200, pageOf(ctx, listPath(scope, "roleDefinitions"), ctx.instance.rbac.listDefinitions(ctx.query.get("$filter"))));
    },
  });
  table.add({
    method: "GET",
    pattern: `${defs}/:name`,
    operationName: "RoleDefinitionGet",
    handler: (ctx) => {
      const scope = validateScope(scopeOf(ctx));
      ctx.authorize("roleDefinitions/read/action", scope);
      return ctx.json(200, ctx.instance.rbac.getDefinition(ctx.params["name"] ?? ""));
    },
  });
  table.add({
    method: "PUT",
    pattern: `${defs}/:name`,
    operationName: "RoleDefinitionCreate",
    handler: async (ctx) => {
      const scope = validateScope(scopeOf(ctx));
      ctx.authorize("roleDefinitions/write/action", scope);
      const { definition } = ctx.instance.rbac.putDefinition(scope, ctx.params["name"] ?? "", ctx.body);
      await ctx.instance.commit();
      return ctx.json(201, definition);
    },
  });
  table.add({
    method: "DELETE",
    pattern: `${defs}/:name`,
    operationName: "RoleDefinitionDelete",
    handler: async (ctx) => {
      const scope = validateScope(scopeOf(ctx));
      ctx.authorize("roleDefinitions/delete/action", scope);
      const removed = ctx.instance.rbac.deleteDefinition(ctx.params["name"] ?? "");
      await ctx.instance.commit();
      return ctx.json(200, removed);
    },
  });

  table.add({
    method: "GET",
    pattern: assigns,
    operationName: "RoleAssignmentList",
    handler: (ctx) => {
      const scope = validateScope(scopeOf(ctx));
      ctx.authorize("roleAssignments/read/action", scope);
      return ctx.json(200, pageOf(ctx, listPath(scope, "roleAssignments"), ctx.instance.rbac.listAssignments(scope, ctx.query.get("$filter"))));
    },
  });
  table.add({
    method: "GET",
    pattern: `${assigns}/:name`,
    operationName: "RoleAssignmentGet",
    handler: (ctx) => {
      const scope = validateScope(scopeOf(ctx));
      ctx.authorize("roleAssignments/read/action", scope);
      return ctx.json(200, ctx.instance.rbac.getAssignment(scope, ctx.params["name"] ?? ""));
    },
  });
  table.add({
    method: "PUT",
    pattern: `${assigns}/:name`,
    operationName: "RoleAssignmentCreate",
    handler: async (ctx) => {
      const scope = validateScope(scopeOf(ctx));
      ctx.authorize("roleAssignments/write/action", scope);
      const created = ctx.instance.rbac.putAssignment(scope, ctx.params["name"] ?? "", ctx.body);
      await ctx.instance.commit();
      return ctx.json(201, created);
    },
  });
  table.add({
    method: "DELETE",
    pattern: `${assigns}/:name`,
    operationName: "RoleAssignmentDelete",
    handler: async (ctx) => {
      const scope = validateScope(scopeOf(ctx));
      ctx.authorize("roleAssignments/delete/action", scope);
      const removed = ctx.instance.rbac.deleteAssignment(scope, ctx.params["name"] ?? "");
      await ctx.instance.commit();
      return ctx.json(200, removed);
    },
  });
}
