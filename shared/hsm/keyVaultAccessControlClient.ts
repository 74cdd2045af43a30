/**
 * Managed HSM local RBAC client — the `KeyVaultAccessControlClient` of `@azure/keyvault-admin`, rebuilt on
 * core-rest-pipeline and keyvault-common's challenge policy. Role definitions and role assignments at
 * scopes `/`, `/keys` and `/keys/{name}`; same method names and result shapes as the official client.
 *
 * Example usage:
 * ```ts
 * const rbac = new KeyVaultAccessControlClient(hsmUrl, credential);
 * await rbac.createRoleAssignment("/", randomUUID(), roleDefinitionIdOfBackup, principalOid);
 * ```
 */
import { randomUUID } from "node:crypto";
import type { TokenCredential } from "@azure/core-auth";
import { RestError } from "@azure/core-rest-pipeline";
import { createAdminPipeline, isRecord, type AdminPipeline } from "./adminPipeline.js";
import type {
  CreateRoleAssignmentOptions,
  DeleteRoleAssignmentOptions,
  DeleteRoleDefinitionOptions,
  GetRoleAssignmentOptions,
  GetRoleDefinitionOptions,
  KeyVaultAccessControlClientOptions,
  KeyVaultPermission,
  KeyVaultRoleAssignment,
  KeyVaultRoleDefinition,
  KeyVaultRoleScope,
  ListRoleAssignmentsOptions,
  ListRoleDefinitionsOptions,
  PagedAsyncIterableIterator,
  PageSettings,
  SetRoleDefinitionOptions,
} from "./keyVaultAccessControlClientModels.js";

const ASSIGNMENTS = "providers/Microsoft.Authorization/roleAssignments";
const DEFINITIONS = "providers/Microsoft.Authorization/roleDefinitions";

interface Page {
  value?: unknown[];
  nextLink?: string | null;
}

export class KeyVaultAccessControlClient {
  public readonly vaultUrl: string;
  private readonly pipeline: AdminPipeline;

  /**
   * @param vaultUrl - the Managed HSM URL
   * @param credential - a token credential
   * @param options - pipeline options (`tlsOptions`, `retryOptions`, `disableChallengeResourceVerification`, …)
   */
  constructor(vaultUrl: string, credential: TokenCredential, options: KeyVaultAccessControlClientOptions = {}) {
    this.pipeline = createAdminPipeline(vaultUrl, credential, options);
    this.vaultUrl = this.pipeline.vaultUrl;
  }

  /**
   * Assigns a role to a principal at a scope. Answers 201 with the assignment.
   * @param roleScope - `/`, `/keys` or `/keys/{name}`
   * @param name - a GUID naming the assignment
   * @param roleDefinitionId - the role definition's `id` (or its bare GUID)
   * @param principalId - the principal's object id
   */
  async createRoleAssignment(
    roleScope: KeyVaultRoleScope,
    name: string,
    roleDefinitionId: string,
    principalId: string,
    options: CreateRoleAssignmentOptions = {},
  ): Promise<KeyVaultRoleAssignment> {
    const response = await this.pipeline.send<unknown>({
      method: "PUT",
      pathOrUrl: scopedPath(roleScope, ASSIGNMENTS, name),
      body: { properties: { roleDefinitionId, principalId } },
      expectedStatuses: [201, 200],
      abortSignal: options.abortSignal,
    });
    return toRoleAssignment(response.body);
  }

  /** Deletes a role assignment; an assignment that is already gone is not an error (keyvault-admin ≥ 4.0). */
  async deleteRoleAssignment(
    roleScope: KeyVaultRoleScope,
    name: string,
    options: DeleteRoleAssignmentOptions = {},
  ): Promise<void> {
    await this.ignoreNotFound(() =>
      this.pipeline.send({
        method: "DELETE",
        pathOrUrl: scopedPath(roleScope, ASSIGNMENTS, name),
        expectedStatuses: [200, 204],
        abortSignal: options.abortSignal,
      }),
    );
  }

  async getRoleAssignment(
    roleScope: KeyVaultRoleScope,
    name: string,
    options: GetRoleAssignmentOptions = {},
  ): Promise<KeyVaultRoleAssignment> {
    const response = await this.pipeline.send<unknown>({
      method: "GET",
      pathOrUrl: scopedPath(roleScope, ASSIGNMENTS, name),
      expectedStatuses: [200],
      abortSignal: options.abortSignal,
    });
    return toRoleAssignment(response.body);
  }

  listRoleAssignments(
    roleScope: KeyVaultRoleScope,
    options: ListRoleAssignmentsOptions = {},
  ): PagedAsyncIterableIterator<KeyVaultRoleAssignment> {
    return this.list(scopedPath(roleScope, ASSIGNMENTS), options, toRoleAssignment);
  }

  listRoleDefinitions(
    roleScope: KeyVaultRoleScope,
    options: ListRoleDefinitionsOptions = {},
  ): PagedAsyncIterableIterator<KeyVaultRoleDefinition> {
    return this.list(scopedPath(roleScope, DEFINITIONS), options, toRoleDefinition);
  }

  async getRoleDefinition(
    roleScope: KeyVaultRoleScope,
    name: string,
    options: GetRoleDefinitionOptions = {},
  ): Promise<KeyVaultRoleDefinition> {
    const response = await this.pipeline.send<unknown>({
      method: "GET",
      pathOrUrl: scopedPath(roleScope, DEFINITIONS, name),
      expectedStatuses: [200],
      abortSignal: options.abortSignal,
    });
    return toRoleDefinition(response.body);
  }

  /** Creates or updates a custom role definition (Managed HSM allows scope `/` only). */
  async setRoleDefinition(
    roleScope: KeyVaultRoleScope,
    options: SetRoleDefinitionOptions = {},
  ): Promise<KeyVaultRoleDefinition> {
    const name = options.roleDefinitionName ?? randomUUID();
    const response = await this.pipeline.send<unknown>({
      method: "PUT",
      pathOrUrl: scopedPath(roleScope, DEFINITIONS, name),
      body: {
        properties: {
          description: options.description,
          permissions: options.permissions,
          assignableScopes: options.assignableScopes ?? [roleScope],
          roleName: options.roleName,
          type: "CustomRole",
        },
      },
      expectedStatuses: [201, 200],
      abortSignal: options.abortSignal,
    });
    return toRoleDefinition(response.body);
  }

  /** Deletes a custom role definition; one that is already gone is not an error. */
  async deleteRoleDefinition(
    roleScope: KeyVaultRoleScope,
    name: string,
    options: DeleteRoleDefinitionOptions = {},
  ): Promise<void> {
    await this.ignoreNotFound(() =>
      this.pipeline.send({
        method: "DELETE",
        pathOrUrl: scopedPath(roleScope, DEFINITIONS, name),
        expectedStatuses: [200, 204],
        abortSignal: options.abortSignal,
      }),
    );
  }

  private async ignoreNotFound(call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) return;
      throw error;
    }
  }

  private list<T>(
    path: string,
    options: ListRoleAssignmentsOptions,
    map: (wire: unknown) => T,
  ): PagedAsyncIterableIterator<T> {
    const pipeline = this.pipeline;
    async function* pages(settings: PageSettings = {}): AsyncIterableIterator<T[]> {
      let next: string | undefined = settings.continuationToken ?? path;
      let first = settings.continuationToken === undefined;
      while (next) {
        const response: { body: Page } = await pipeline.send<Page>({
          method: "GET",
          pathOrUrl: next,
          // The filter only goes on the first request; nextLink already carries everything.
          query: first ? { $filter: options.filter } : {},
          expectedStatuses: [200],
          abortSignal: options.abortSignal,
        });
        first = false;
        yield (response.body.value ?? []).map(map);
        next = response.body.nextLink ?? undefined;
      }
    }
    async function* items(): AsyncIterableIterator<T> {
      for await (const page of pages()) yield* page;
    }
    const iterator = items();
    const paged: PagedAsyncIterableIterator<T> = {
      next: () => iterator.next(),
      [Symbol.asyncIterator]: () => paged,
      byPage: (settings) => pages(settings),
    };
    return paged;
  }
}

/**
 * `/{scope}/providers/…` exactly as the generated client sends it: scope `/` gives `///providers/…`,
 * `/keys` gives `//keys/providers/…` (the service and the emulator accept the repeated slashes).
 */
function scopedPath(scope: string, collection: string, name?: string): string {
  if (!scope.startsWith("/")) {
    throw new Error(`Role scope '${scope}' must start with '/' ("/", "/keys" or "/keys/<name>").`);
  }
  const base = `/${scope}/${collection}`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}

function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function strings(value: unknown): string[] | undefined {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : undefined;
}

function toRoleAssignment(wire: unknown): KeyVaultRoleAssignment {
  const body = isRecord(wire) ? wire : {};
  const props = isRecord(body["properties"]) ? body["properties"] : {};
  return {
    id: str(body["id"]) ?? "",
    name: str(body["name"]) ?? "",
    kind: str(body["type"]) ?? "",
    properties: {
      scope: str(props["scope"]),
      roleDefinitionId: str(props["roleDefinitionId"]),
      principalId: str(props["principalId"]),
    },
  };
}

function toRoleDefinition(wire: unknown): KeyVaultRoleDefinition {
  const body = isRecord(wire) ? wire : {};
  const props = isRecord(body["properties"]) ? body["properties"] : {};
  const permissions: KeyVaultPermission[] = Array.isArray(props["permissions"])
    ? props["permissions"].filter(isRecord).map((p) => ({
        actions: strings(p["actions"]),
        notActions: strings(p["notActions"]),
        dataActions: strings(p["dataActions"]),
        notDataActions: strings(p["notDataActions"]),
      }))
    : [];
  return {
    id: str(body["id"]) ?? "",
    name: str(body["name"]) ?? "",
    kind: str(body["type"]) ?? "",
    roleName: str(props["roleName"]),
    description: str(props["description"]),
    roleType: str(props["type"]),
    permissions,
    assignableScopes: strings(props["assignableScopes"]) ?? [],
  };
}
