/**
 * The custom role definitions of the lifecycle app: exactly the data actions each workflow calls, nothing a
 * workflow does not call. Managed HSM local RBAC (roleDefinitions/write, up to 50 custom roles per HSM) and, for
 * vaults, Azure RBAC custom roles with the vault data actions. Names are fixed GUIDs, so applying again rewrites the
 * same definition and an assignment made from the plan names the same role on every HSM.
 *
 * Data action names as Microsoft lists them ("Local RBAC built-in roles for Managed HSM"; Key Vault data actions in
 * "Azure built-in roles for Security").
 *
 * The data lives in lifecycleRoles.json, which infra/ (Bicep `loadJsonContent`) reads too: the deployment creates the
 * vault roles and the storage/topic assignments from the same file the CLI applies and checks.
 */
import roles from "./lifecycleRoles.json";

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

type RoleKey = keyof typeof roles.lifecycleRoles;
const fromJson = (key: RoleKey): LifecycleRole => roles.lifecycleRoles[key] as LifecycleRole;

/** Verification signs, unwraps and decrypts remotely; it verifies and wraps locally (RSA/EC), both remotely for oct-HSM. */
export const HSM_ROTATION_ROLE: LifecycleRole = fromJson("HSM_ROTATION_ROLE");

export const HSM_BACKUP_ROLE: LifecycleRole = fromJson("HSM_BACKUP_ROLE");

/**
 * What the drill needs on an HSM whose role assignments a full restore may have replaced with the primary's: the
 * probes' crypto, the inventory, the role comparison, and the status of the job it is polling. Carried on the
 * primary too (that is what lets it survive the restore); none of it writes.
 */
export const HSM_DRILL_PROBE_ROLE: LifecycleRole = fromJson("HSM_DRILL_PROBE_ROLE");

/** DR only, never on a primary: what restores. Re-applied on DR by the DR steward after each full restore. */
export const HSM_DRILL_DR_ROLE: LifecycleRole = fromJson("HSM_DRILL_DR_ROLE");

/**
 * Re-applies the drill's DR-only assignment after each full restore (which replaced DR's assignments with the
 * primary's). It must be carried on the primary to survive the restore; it can write role assignments but holds
 * no key, backup or restore action itself, and cannot write role definitions.
 */
export const HSM_DR_STEWARD_ROLE: LifecycleRole = fromJson("HSM_DR_STEWARD_ROLE");

/**
 * Approved key recovery only (a `keyRecovery` request with its approvals), planned on primaries only: it can bring a
 * key back (recover a soft-deleted one, or restore one key from a backup) and check it with a crypto round trip, but
 * can neither purge, delete, start a backup nor grant anything.
 */
export const HSM_RECOVERY_ROLE: LifecycleRole = fromJson("HSM_RECOVERY_ROLE");

export const HSM_AUDITOR_ROLE: LifecycleRole = fromJson("HSM_AUDITOR_ROLE");

/**
 * Seals evidence packs and drill reports with the HSM key `evidence-signing` (shared/evidence/evidenceSigner.ts):
 * read and sign, assigned at that key's scope only, so it reaches no other key.
 */
export const HSM_EVIDENCE_SIGNER_ROLE: LifecycleRole = fromJson("HSM_EVIDENCE_SIGNER_ROLE");

export const VAULT_ROTATION_ROLE: LifecycleRole = fromJson("VAULT_ROTATION_ROLE");

export const VAULT_AUDITOR_ROLE: LifecycleRole = fromJson("VAULT_AUDITOR_ROLE");

export const LIFECYCLE_ROLES: readonly LifecycleRole[] = [
  HSM_ROTATION_ROLE, HSM_BACKUP_ROLE, HSM_DRILL_PROBE_ROLE, HSM_DRILL_DR_ROLE, HSM_DR_STEWARD_ROLE, HSM_RECOVERY_ROLE, HSM_AUDITOR_ROLE, HSM_EVIDENCE_SIGNER_ROLE,
  VAULT_ROTATION_ROLE, VAULT_AUDITOR_ROLE,
];

/**
 * Actions that let a principal rewrite history or grant itself anything: `rbac check` reports every holder that is
 * not planned to hold them (restore into an HSM, purge a key, write role assignments or definitions).
 */
export const PRIVILEGED_ACTIONS: Record<RbacInstanceKind, readonly string[]> = roles.privilegedActions;

/** The role definition id an assignment names (Managed HSM's form; the emulator serves vaults the same way). */
export function roleDefinitionIdOf(role: Pick<LifecycleRole, "name">): string {
  return `Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/${role.name}`;
}
