/**
 * Every action the product or an attacker could call on a Managed HSM or a vault through the data plane (and, for
 * vaults, the role-management actions Azure RBAC checks): the universe `rbac check` measures "over-broad" against
 * and the RBAC matrix test walks.
 */
import type { RbacInstanceKind } from "./lifecycleRoles";

const HSM = "Microsoft.KeyVault/managedHsm/";
const VAULT = "Microsoft.KeyVault/vaults/";
const AUTHZ = "Microsoft.Authorization/";

export const KNOWN_ACTIONS: Record<RbacInstanceKind, readonly string[]> = {
  managedHsm: [
    "keys/read/action", "keys/write/action", "keys/create", "keys/delete", "keys/import/action", "keys/export/action", "keys/release/action",
    "keys/backup/action", "keys/restore/action", "keys/rotate/action", "keys/sign/action", "keys/verify/action", "keys/encrypt/action",
    "keys/decrypt/action", "keys/wrap/action", "keys/unwrap/action", "keys/deletedKeys/read/action", "keys/deletedKeys/delete",
    "keys/deletedKeys/recover/action", "rng/action", "backup/start/action", "backup/status/action", "restore/start/action", "restore/status/action",
    "roleAssignments/read/action", "roleAssignments/write/action", "roleAssignments/delete/action", "roleDefinitions/read/action",
    "roleDefinitions/write/action", "roleDefinitions/delete/action",
  ].map((a) => HSM + a),
  vault: [
    ...[
      "keys/read", "keys/create/action", "keys/import/action", "keys/update/action", "keys/rotate/action", "keys/delete", "keys/backup/action",
      "keys/restore/action", "keys/release/action", "keys/sign/action", "keys/verify/action", "keys/encrypt/action", "keys/decrypt/action",
      "keys/wrap/action", "keys/unwrap/action", "keyrotationpolicies/read", "keyrotationpolicies/write", "deletedKeys/read",
      "deletedKeys/recover/action", "deletedKeys/delete",
    ].map((a) => VAULT + a),
    ...["roleAssignments/read", "roleAssignments/write", "roleAssignments/delete", "roleDefinitions/read", "roleDefinitions/write", "roleDefinitions/delete"].map((a) => AUTHZ + a),
  ],
};

/** Control-plane actions are matched against `actions`, data actions against `dataActions` (as Azure RBAC does). */
export function isControlPlaneAction(action: string): boolean {
  return action.startsWith(AUTHZ);
}
