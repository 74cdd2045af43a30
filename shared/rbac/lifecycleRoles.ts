/**
 * The custom role definitions of the lifecycle app: exactly the data actions each workflow calls, nothing a
 * workflow does not call. Managed HSM local RBAC (roleDefinitions/write, up to 50 custom roles per HSM) and, for
 * vaults, Azure RBAC custom roles with the vault data actions. Names are fixed GUIDs, so applying again rewrites the
 * same definition and an assignment made from the plan names the same role on every HSM.
 *
 * Data action names as Microsoft lists them ("Local RBAC built-in roles for Managed HSM"; Key Vault data actions in
 * "Azure built-in roles for Security").
 */

const HSM = "Microsoft.KeyVault/managedHsm/";
const VAULT = "Microsoft.KeyVault/vaults/";

export type RbacInstanceKind = "managedHsm" | "vault";

export interface LifecycleRole {
  /** GUID: the definition's name on every instance. */
  name: string;
  roleName: string;
  description: string;
  kind: RbacInstanceKind;
  /** Control-plane actions (vaults only: reading role assignments is an ARM action there). */
  actions: readonly string[];
  dataActions: readonly string[];
}

const hsm = (actions: string[]): string[] => actions.map((a) => HSM + a);
const vault = (actions: string[]): string[] => actions.map((a) => VAULT + a);

/** Crypto the drill's cross-HSM probes call (sign/verify, wrap/unwrap, encrypt/decrypt, both ways). */
const PROBE_CRYPTO = ["keys/sign/action", "keys/verify/action", "keys/wrap/action", "keys/unwrap/action", "keys/encrypt/action", "keys/decrypt/action"];

export const HSM_ROTATION_ROLE: LifecycleRole = {
  name: "4f1b6c2e-8a0d-4d3b-9c71-1e5a0b7d2c01",
  roleName: "HSM Lifecycle Rotation",
  description: "Rotate keys: read, set policy/expiry/disable, rotate, and the crypto its verification calls. Never create, delete, purge, import, export, back up, restore or release.",
  kind: "managedHsm",
  actions: [],
  // Verification signs, unwraps, decrypts remotely; verifies and wraps locally (RSA/EC), both remotely for oct-HSM.
  dataActions: hsm(["keys/read/action", "keys/write/action", "keys/rotate/action", "keys/sign/action", "keys/wrap/action", "keys/unwrap/action", "keys/encrypt/action", "keys/decrypt/action"]),
};

export const HSM_BACKUP_ROLE: LifecycleRole = {
  name: "4f1b6c2e-8a0d-4d3b-9c71-1e5a0b7d2c02",
  roleName: "HSM Lifecycle Backup",
  description: "Start full backups and read their status; list keys, rotation policies and role assignments for the manifest. No crypto, no restore.",
  kind: "managedHsm",
  actions: [],
  dataActions: hsm(["backup/start/action", "backup/status/action", "keys/read/action", "roleAssignments/read/action"]),
};

/**
 * What the drill needs on an HSM whose role assignments a full restore may have replaced with the primary's: the
 * probes' crypto, the inventory, the role comparison, and the status of the job it is polling. Carried on the
 * primary too (that is what lets it survive the restore); none of it writes.
 */
export const HSM_DRILL_PROBE_ROLE: LifecycleRole = {
  name: "4f1b6c2e-8a0d-4d3b-9c71-1e5a0b7d2c03",
  roleName: "HSM Lifecycle Drill Probe",
  description: "Restore drill, on the primary and DR: read keys, the probes' crypto, read role assignments/definitions, read backup/restore job status. Writes nothing.",
  kind: "managedHsm",
  actions: [],
  dataActions: hsm(["keys/read/action", ...PROBE_CRYPTO, "roleAssignments/read/action", "roleDefinitions/read/action", "backup/status/action", "restore/status/action"]),
};

/** DR only, never on a primary: what restores. Re-applied on DR by the DR steward after each full restore. */
export const HSM_DRILL_DR_ROLE: LifecycleRole = {
  name: "4f1b6c2e-8a0d-4d3b-9c71-1e5a0b7d2c04",
  roleName: "HSM Lifecycle Drill DR",
  description: "Restore drill, DR HSM only: back up DR first, full and selective restore, and the selective variant's delete + purge of the key it restores.",
  kind: "managedHsm",
  actions: [],
  dataActions: hsm(["backup/start/action", "restore/start/action", "keys/delete", "keys/deletedKeys/read/action", "keys/deletedKeys/delete"]),
};

/**
 * Re-applies the drill's DR-only assignment after each full restore (which replaced DR's assignments with the
 * primary's). It must be carried on the primary to survive the restore; it can write role assignments but holds
 * no key, backup or restore action itself, and cannot write role definitions.
 */
export const HSM_DR_STEWARD_ROLE: LifecycleRole = {
  name: "4f1b6c2e-8a0d-4d3b-9c71-1e5a0b7d2c05",
  roleName: "HSM Lifecycle DR Steward",
  description: "Re-apply the restore drill's DR-only role assignment after a full restore. Role assignments read/write only.",
  kind: "managedHsm",
  actions: [],
  dataActions: hsm(["roleAssignments/read/action", "roleAssignments/write/action", "roleDefinitions/read/action"]),
};

export const HSM_AUDITOR_ROLE: LifecycleRole = {
  name: "4f1b6c2e-8a0d-4d3b-9c71-1e5a0b7d2c06",
  roleName: "HSM Lifecycle Auditor",
  description: "Read only, for people: key properties, deleted keys, role assignments and definitions, job status. No crypto. The app never uses it.",
  kind: "managedHsm",
  actions: [],
  dataActions: hsm(["keys/read/action", "keys/deletedKeys/read/action", "roleAssignments/read/action", "roleDefinitions/read/action", "backup/status/action", "restore/status/action"]),
};

export const VAULT_ROTATION_ROLE: LifecycleRole = {
  name: "4f1b6c2e-8a0d-4d3b-9c71-1e5a0b7d2c11",
  roleName: "Vault Lifecycle Rotation",
  description: "Rotate vault keys: read, update, rotate, rotation policy read/write, and the crypto its verification calls. Never create, delete, purge, import, back up, restore or release.",
  kind: "vault",
  actions: [],
  dataActions: vault([
    "keys/read", "keys/update/action", "keys/rotate/action", "keyrotationpolicies/read", "keyrotationpolicies/write",
    "keys/sign/action", "keys/wrap/action", "keys/unwrap/action", "keys/encrypt/action", "keys/decrypt/action",
  ]),
};

export const VAULT_AUDITOR_ROLE: LifecycleRole = {
  name: "4f1b6c2e-8a0d-4d3b-9c71-1e5a0b7d2c12",
  roleName: "Vault Lifecycle Auditor",
  description: "Read only, for people: key properties, rotation policies, deleted keys, role assignments and definitions. The app never uses it.",
  kind: "vault",
  actions: ["Microsoft.Authorization/roleAssignments/read", "Microsoft.Authorization/roleDefinitions/read"],
  dataActions: vault(["keys/read", "keyrotationpolicies/read", "deletedKeys/read"]),
};

export const LIFECYCLE_ROLES: readonly LifecycleRole[] = [
  HSM_ROTATION_ROLE, HSM_BACKUP_ROLE, HSM_DRILL_PROBE_ROLE, HSM_DRILL_DR_ROLE, HSM_DR_STEWARD_ROLE, HSM_AUDITOR_ROLE,
  VAULT_ROTATION_ROLE, VAULT_AUDITOR_ROLE,
];

/**
 * Actions that let a principal rewrite history or grant itself anything: `rbac check` reports every holder that is
 * not planned to hold them (restore into an HSM, purge a key, write role assignments or definitions).
 */
export const PRIVILEGED_ACTIONS: Record<RbacInstanceKind, readonly string[]> = {
  managedHsm: hsm(["restore/start/action", "keys/deletedKeys/delete", "roleAssignments/write/action", "roleDefinitions/write/action"]),
  vault: [VAULT + "deletedKeys/delete", "Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleDefinitions/write"],
};

/** The role definition id an assignment names (Managed HSM's form; the emulator serves vaults the same way). */
export function roleDefinitionIdOf(role: Pick<LifecycleRole, "name">): string {
  return `Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/${role.name}`;
}
