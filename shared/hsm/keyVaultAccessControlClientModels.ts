/**
 * Public types of {@link KeyVaultAccessControlClient}, as `@azure/keyvault-admin` names and shapes them.
 */
import type { KeyVaultAdminClientOptions } from "./adminPipeline.js";

export type KeyVaultAccessControlClientOptions = KeyVaultAdminClientOptions;

/** `"/"` (whole HSM), `"/keys"` (all keys) or `"/keys/{name}"` (one key). */
export type KeyVaultRoleScope = "/" | "/keys" | (string & {});

export const KnownKeyVaultRoleScope = { Global: "/", Keys: "/keys" } as const;

/** Managed HSM built-in role definition ids (the real service's GUIDs). */
export const KnownManagedHsmRoleDefinitionIds = {
  Administrator: "a290e904-7015-4bba-90c8-60543313cdb4",
  CryptoOfficer: "515eb02d-2335-4d2d-92f2-b1cbdf9c3778",
  CryptoUser: "21dbd100-6940-42c2-9190-5d6cb909625b",
  PolicyAdministrator: "4bd23610-cdcf-4971-bdee-bdc562cc28e4",
  CryptoAuditor: "2c18b078-7c48-4d3a-af88-5a3a1b3f82b3",
  CryptoServiceEncryptionUser: "33413926-3206-4cdd-b39a-83574fe37a17",
  CryptoServiceReleaseUser: "21dbd100-6940-42c2-9190-5d6cb909625c",
  Backup: "7b127d3c-77bd-4e3e-bbe0-dbb8971fa7f8",
  Restore: "6efe6056-5259-49d2-8b3d-d3d73544b20b",
} as const;

export interface KeyVaultPermission {
  actions?: string[];
  notActions?: string[];
  dataActions?: string[];
  notDataActions?: string[];
}

export interface KeyVaultRoleAssignmentProperties {
  scope?: string;
  roleDefinitionId?: string;
  principalId?: string;
}

export interface KeyVaultRoleAssignment {
  readonly id: string;
  readonly name: string;
  /** Wire `type` (`Microsoft.Authorization/roleAssignments`). */
  readonly kind: string;
  properties: KeyVaultRoleAssignmentProperties;
}

export interface KeyVaultRoleDefinition {
  readonly id: string;
  readonly name: string;
  /** Wire `type` (`Microsoft.Authorization/roleDefinitions`). */
  readonly kind: string;
  roleName?: string;
  description?: string;
  /** Wire `properties.type`: `AKVBuiltInRole` or `CustomRole`. */
  roleType?: string;
  permissions: KeyVaultPermission[];
  assignableScopes: string[];
}

export interface RequestOptions {
  abortSignal?: AbortSignal;
}

export type CreateRoleAssignmentOptions = RequestOptions;
export type DeleteRoleAssignmentOptions = RequestOptions;
export type GetRoleAssignmentOptions = RequestOptions;
export type GetRoleDefinitionOptions = RequestOptions;
export type DeleteRoleDefinitionOptions = RequestOptions;

export interface ListRoleAssignmentsOptions extends RequestOptions {
  /** OData filter as the service takes it, e.g. `atScope()` or `principalId eq '<oid>'`. */
  filter?: string;
}
export type ListRoleDefinitionsOptions = ListRoleAssignmentsOptions;

export interface SetRoleDefinitionOptions extends RequestOptions {
  /** GUID of the definition; a new random one when omitted. */
  roleDefinitionName?: string;
  roleName?: string;
  description?: string;
  permissions?: KeyVaultPermission[];
  assignableScopes?: string[];
}

export interface PageSettings {
  continuationToken?: string;
  maxPageSize?: number;
}

/** The paging iterator shape of Azure SDK list methods (`for await`, or `.byPage()`). */
export interface PagedAsyncIterableIterator<T> {
  next(): Promise<IteratorResult<T>>;
  [Symbol.asyncIterator](): PagedAsyncIterableIterator<T>;
  byPage(settings?: PageSettings): AsyncIterableIterator<T[]>;
}
