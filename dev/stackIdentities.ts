/**
 * The principals of the local stack and the least-privilege role assignments that split the duties
 * between them. Emulated user-assigned identities have object id = client id (see
 * emulator/identity/tokenRequest.ts), so assignments name the client id.
 *
 * | identity | primary (HSM)                      | dr (HSM)                                   | app (vault)        |
 * |----------|------------------------------------|--------------------------------------------|--------------------|
 * | rotation | Crypto User                        | —                                          | Key Vault Crypto Officer |
 * | backup   | Backup User, Crypto Auditor        | —                                          | —                  |
 * | drill    | Crypto User, Crypto Auditor,       | Backup User, Restore User, Crypto User, Crypto Auditor | —      |
 * |          | Drill Job Reader (custom)          |                                            |                    |
 *
 * Why: rotation creates versions, sets expiry and rotation policies and disables old versions (Crypto User
 * carries keys/rotate); it can never start a backup or restore. Backup starts full backups and reads the
 * key inventory for the manifest (Auditor: list only, no crypto). The drill backs up and restores the DR HSM
 * only, probes keys on both sides and compares inventories and role assignments (Auditor reads them).
 * The operator (a developer) gets the emulator's --admin roles everywhere.
 *
 * A full restore replaces the DR HSM's role assignments (and custom roles) with the PRIMARY's — that is what
 * the backup contains. So whatever the drill needs on DR after its restore must also exist on the primary:
 * Crypto User/Auditor (probes, inventory, role check) and the custom Drill Job Reader (status of the restore
 * job it is polling — nothing else; it cannot start a backup or a restore on the primary). The DR-only roles
 * (Backup User, Restore User) are gone after a drill until seeded again: the stack re-seeds on every start;
 * in Azure, re-apply them from infrastructure as code after each drill.
 */
import { HSM_ROLE_IDS, VAULT_ROLE_IDS } from "../emulator/rbac/builtInRoles";

export interface StackIdentities {
  /** Developer / seeding principal (--admin): Managed HSM Administrator + Crypto Officer + Crypto User, Key Vault Administrator. */
  operator: string;
  rotation: string;
  backup: string;
  drill: string;
}

export const STACK_IDENTITIES: StackIdentities = {
  operator: "0b5e0a4b-7d2f-4e61-9a3b-0f6d2c8e1a00",
  rotation: "0b5e0a4b-7d2f-4e61-9a3b-0f6d2c8e1a01",
  backup: "0b5e0a4b-7d2f-4e61-9a3b-0f6d2c8e1a02",
  drill: "0b5e0a4b-7d2f-4e61-9a3b-0f6d2c8e1a03",
};

export interface CustomRoleSpec {
  /** GUID naming the role definition (fixed, so re-seeding rewrites it). */
  name: string;
  roleName: string;
  description: string;
  dataActions: string[];
}

export interface PlannedAssignment {
  instance: string;
  scope: "/";
  /** Built-in role id (GUID), or the custom role's name. */
  roleDefinitionId: string;
  roleName: string;
  principal: keyof Omit<StackIdentities, "operator">;
  /** Created (at "/") before the assignment when set. */
  customRole?: CustomRoleSpec;
}

/** Reads backup/restore job status only: survives the drill's own full restore into DR (see above). */
export const DRILL_JOB_READER_ROLE: CustomRoleSpec = {
  name: "6c0f3e52-4d1b-4f7a-9e8c-2b5d7a1c9e30",
  roleName: "HSM Lifecycle Drill Job Reader",
  description: "Read the status of full backup and restore jobs (the restore drill polls its restore into DR, whose RBAC the restore replaces with this HSM's).",
  dataActions: ["Microsoft.KeyVault/managedHsm/backup/status/action", "Microsoft.KeyVault/managedHsm/restore/status/action"],
};

/** The assignments for HSMs `primary`/`dr` and vault `app` (names as the stack starts them). */
export function plannedAssignments(names: { primary: string; dr: string; vault: string }): PlannedAssignment[] {
  const a = (instance: string, principal: PlannedAssignment["principal"], roleName: string, roleDefinitionId: string): PlannedAssignment => ({
    instance,
    scope: "/",
    roleDefinitionId,
    roleName,
    principal,
  });
  return [
    a(names.primary, "rotation", "Managed HSM Crypto User", HSM_ROLE_IDS.cryptoUser),
    a(names.vault, "rotation", "Key Vault Crypto Officer", VAULT_ROLE_IDS.cryptoOfficer),
    a(names.primary, "backup", "Managed HSM Backup User", HSM_ROLE_IDS.backup),
    a(names.primary, "backup", "Managed HSM Crypto Auditor", HSM_ROLE_IDS.cryptoAuditor),
    a(names.primary, "drill", "Managed HSM Crypto User", HSM_ROLE_IDS.cryptoUser),
    a(names.primary, "drill", "Managed HSM Crypto Auditor", HSM_ROLE_IDS.cryptoAuditor),
    { ...a(names.primary, "drill", DRILL_JOB_READER_ROLE.roleName, DRILL_JOB_READER_ROLE.name), customRole: DRILL_JOB_READER_ROLE },
    a(names.dr, "drill", "Managed HSM Backup User", HSM_ROLE_IDS.backup),
    a(names.dr, "drill", "Managed HSM Restore User", HSM_ROLE_IDS.restore),
    a(names.dr, "drill", "Managed HSM Crypto User", HSM_ROLE_IDS.cryptoUser),
    a(names.dr, "drill", "Managed HSM Crypto Auditor", HSM_ROLE_IDS.cryptoAuditor),
  ];
}
