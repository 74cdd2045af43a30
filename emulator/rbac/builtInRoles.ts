/**
 * Built-in role definitions with their real ids and data actions.
 * Managed HSM: the 2021 service definitions (recorded by azure-sdk-for-js) plus `keys/rotate/action` on
 * Crypto User from the 2024 docs (see shared/reference/managed-hsm-api.md §3.5).
 * Vault: the Key Vault built-in roles (Azure built-in role ids). Vault role management is an ARM
 * operation in Azure (Owner / User Access Administrator); the emulator has no ARM, so Key Vault
 * Administrator also carries the `Microsoft.Authorization/role*` actions (emulator-only, documented).
 */
import type { InstanceKind } from "../instanceKind";
import type { Permission, RoleDefinition } from "./rbacModel";

const HSM = "Microsoft.KeyVault/managedHsm/";
const VAULT = "Microsoft.KeyVault/vaults/";

export const ROLE_DEFINITION_ID_PREFIX = "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/";

export const HSM_ROLE_IDS = {
  administrator: "a290e904-7015-4bba-90c8-60543313cdb4",
  cryptoOfficer: "515eb02d-2335-4d2d-92f2-b1cbdf9c3778",
  cryptoUser: "21dbd100-6940-42c2-9190-5d6cb909625b",
  policyAdministrator: "4bd23610-cdcf-4971-bdee-bdc562cc28e4",
  cryptoAuditor: "2c18b078-7c48-4d3a-af88-5a3a1b3f82b3",
  serviceEncryptionUser: "33413926-3206-4cdd-b39a-83574fe37a17",
  serviceReleaseUser: "21dbd100-6940-42c2-9190-5d6cb909625c",
  backup: "7b127d3c-77bd-4e3e-bbe0-dbb8971fa7f8",
  restore: "6efe6056-5259-49d2-8b3d-d3d73544b20b",
} as const;

export const VAULT_ROLE_IDS = {
  administrator: "00482a5a-887f-4fb3-b363-3b7fe8e74483",
  cryptoOfficer: "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
  cryptoUser: "12338af0-0e69-4776-bea7-57ae8d297424",
  reader: "21090545-7ca7-4776-b22c-e363652d74d2",
  serviceEncryptionUser: "e147488a-f6f5-4113-8e2d-b22465e65bf6",
  serviceReleaseUser: "08bbd89e-9f13-488c-ac41-acfcb10c90ab",
} as const;

const rbacManage = ["roleAssignments/delete/action", "roleAssignments/read/action", "roleAssignments/write/action", "roleDefinitions/read/action", "roleDefinitions/write/action", "roleDefinitions/delete/action"];

function role(id: string, roleName: string, description: string, dataActions: string[], actions: string[] = []): RoleDefinition {
  const permissions: Permission = { actions, notActions: [], dataActions, notDataActions: [] };
  return {
    id: ROLE_DEFINITION_ID_PREFIX + id,
    name: id,
    type: "Microsoft.Authorization/roleDefinitions",
    properties: { roleName, description, type: "AKVBuiltInRole", assignableScopes: ["/"], permissions: [permissions] },
  };
}

const hsm = (actions: string[]): string[] => actions.map((a) => HSM + a);
const vault = (actions: string[]): string[] => actions.map((a) => VAULT + a);

const HSM_ROLES: RoleDefinition[] = [
  role(HSM_ROLE_IDS.administrator, "Managed HSM Administrator", "", hsm([
    ...rbacManage,
    "securitydomain/download/action", "securitydomain/download/read", "securitydomain/upload/action", "securitydomain/upload/read", "securitydomain/transferkey/read",
    "backup/start/action", "restore/start/action", "backup/status/action", "restore/status/action",
  ])),
  role(HSM_ROLE_IDS.cryptoOfficer, "Managed HSM Crypto Officer", "", hsm([
    ...rbacManage, "keys/deletedKeys/read/action", "keys/deletedKeys/delete", "keys/deletedKeys/recover/action", "keys/export/action",
  ])),
  role(HSM_ROLE_IDS.cryptoUser, "Managed HSM Crypto User", "", hsm([
    "roleDefinitions/read/action", "roleAssignments/read/action", "keys/read/action", "keys/write/action", "keys/delete", "keys/create",
    "keys/import/action", "keys/release/action", "keys/backup/action", "keys/restore/action", "keys/encrypt/action", "keys/decrypt/action",
    "keys/wrap/action", "keys/unwrap/action", "keys/sign/action", "keys/verify/action", "rng/action", "keys/rotate/action",
  ])),
  role(HSM_ROLE_IDS.policyAdministrator, "Managed HSM Policy Administrator", "", hsm(rbacManage)),
  role(HSM_ROLE_IDS.cryptoAuditor, "Managed HSM Crypto Auditor", "", hsm([
    "roleAssignments/read/action", "roleDefinitions/read/action", "keys/read/action", "keys/deletedKeys/read/action",
  ])),
  role(HSM_ROLE_IDS.serviceEncryptionUser, "Managed HSM Crypto Service Encryption User", "", hsm(["keys/read/action", "keys/wrap/action", "keys/unwrap/action"])),
  role(HSM_ROLE_IDS.serviceReleaseUser, "Managed HSM Crypto Service Release User", "", hsm(["keys/release/action"])),
  role(HSM_ROLE_IDS.backup, "Managed HSM Backup User", "", hsm(["backup/start/action", "backup/status/action", "keys/backup/action"])),
  role(HSM_ROLE_IDS.restore, "Managed HSM Restore User", "", hsm(["keys/restore/action", "restore/start/action", "restore/status/action"])),
];

const VAULT_ROLES: RoleDefinition[] = [
  role(VAULT_ROLE_IDS.administrator, "Key Vault Administrator", "Perform all data plane operations on a key vault and all objects in it.", ["Microsoft.KeyVault/vaults/*"], [
    "Microsoft.Authorization/roleAssignments/*",
    "Microsoft.Authorization/roleDefinitions/*",
  ]),
  role(VAULT_ROLE_IDS.cryptoOfficer, "Key Vault Crypto Officer", "Perform any action on the keys of a key vault, except manage permissions.", vault(["keys/*", "keyrotationpolicies/*", "deletedKeys/*"])),
  role(VAULT_ROLE_IDS.cryptoUser, "Key Vault Crypto User", "Perform cryptographic operations using keys.", vault([
    "keys/read", "keys/update/action", "keys/backup/action", "keys/encrypt/action", "keys/decrypt/action", "keys/wrap/action",
    "keys/unwrap/action", "keys/sign/action", "keys/verify/action",
  ]), ["Microsoft.Authorization/*/read"]),
  role(VAULT_ROLE_IDS.reader, "Key Vault Reader", "Read metadata of key vaults and its certificates, keys, and secrets.", vault(["*/read", "secrets/readMetadata/action"]), ["Microsoft.Authorization/*/read"]),
  role(VAULT_ROLE_IDS.serviceEncryptionUser, "Key Vault Crypto Service Encryption User", "Read metadata of keys and perform wrap/unwrap operations.", vault(["keys/read", "keys/wrap/action", "keys/unwrap/action"])),
  role(VAULT_ROLE_IDS.serviceReleaseUser, "Key Vault Crypto Service Release User", "Release keys.", vault(["keys/release/action"])),
];

export function builtInRoles(kind: InstanceKind): RoleDefinition[] {
  return kind === "managedHsm" ? HSM_ROLES : VAULT_ROLES;
}

/** Roles `--admin OID` gets at "/" on first start, so a developer can work at once. */
export function adminRoleIds(kind: InstanceKind): string[] {
  return kind === "managedHsm" ? [HSM_ROLE_IDS.administrator, HSM_ROLE_IDS.cryptoOfficer, HSM_ROLE_IDS.cryptoUser] : [VAULT_ROLE_IDS.administrator];
}

/**
 * Translates a Managed HSM data action (the vocabulary route handlers use) into the vault one.
 * Returns undefined when the operation has no vault counterpart.
 */
export function toVaultAction(hsmAction: string): string | undefined {
  const a = hsmAction.startsWith(HSM) ? hsmAction.slice(HSM.length) : hsmAction;
  const map: Record<string, string> = {
    "keys/read/action": "keys/read",
    "keys/create": "keys/create/action",
    "keys/import/action": "keys/import/action",
    "keys/write/action": "keys/update/action",
    "keys/rotate/action": "keys/rotate/action",
    "keys/delete": "keys/delete",
    "keys/deletedKeys/read/action": "deletedKeys/read",
    "keys/deletedKeys/recover/action": "deletedKeys/recover/action",
    "keys/deletedKeys/delete": "deletedKeys/delete",
    "keys/backup/action": "keys/backup/action",
    "keys/restore/action": "keys/restore/action",
    "keys/encrypt/action": "keys/encrypt/action",
    "keys/decrypt/action": "keys/decrypt/action",
    "keys/wrap/action": "keys/wrap/action",
    "keys/unwrap/action": "keys/unwrap/action",
    "keys/sign/action": "keys/sign/action",
    "keys/verify/action": "keys/verify/action",
    "keys/release/action": "keys/release/action",
    "keys/export/action": "keys/export/action",
  };
  if (map[a] !== undefined) return VAULT + map[a];
  const authz: Record<string, string> = {
    "roleAssignments/read/action": "Microsoft.Authorization/roleAssignments/read",
    "roleAssignments/write/action": "Microsoft.Authorization/roleAssignments/write",
    "roleAssignments/delete/action": "Microsoft.Authorization/roleAssignments/delete",
    "roleDefinitions/read/action": "Microsoft.Authorization/roleDefinitions/read",
    "roleDefinitions/write/action": "Microsoft.Authorization/roleDefinitions/write",
    "roleDefinitions/delete/action": "Microsoft.Authorization/roleDefinitions/delete",
  };
  return authz[a];
}

export function qualifyHsmAction(action: string): string {
  return action.startsWith("Microsoft.") ? action : HSM + action;
}
