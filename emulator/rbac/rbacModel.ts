/** Persisted RBAC records, already in the service's wire shape (so GET returns them as stored). */
export interface Permission {
  actions: string[];
  notActions: string[];
  dataActions: string[];
  notDataActions: string[];
}

export interface RoleDefinition {
  id: string;
  name: string;
  type: "Microsoft.Authorization/roleDefinitions";
  properties: {
    roleName: string;
    description: string;
    type: "AKVBuiltInRole" | "CustomRole";
    assignableScopes: string[];
    permissions: Permission[];
  };
}

export interface RoleAssignment {
  id: string;
  name: string;
  type: "Microsoft.Authorization/roleAssignments";
  properties: { principalId: string; scope: string; roleDefinitionId: string };
}
