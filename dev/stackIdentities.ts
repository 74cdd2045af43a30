/**
 * The principals of the local stack and their role assignments: exactly `hsm-lifecycle rbac plan` for the stack's
 * settings (shared/rbac/rbacPlan.ts), applied through the same `rbac apply` code (dev/seedRoleAssignments.ts), so
 * the stack does what README tells a bank to do in Azure. Emulated user-assigned identities have object id =
 * client id (see emulator/identity/tokenRequest.ts), so assignments name the client id.
 *
 * The drill's DR-only role is not carried on the primary: after each full restore the DR steward identity puts
 * it back on DR (shared/drill/activities/reapplyDrRoles.ts), so drill after drill passes without the drill identity ever being
 * able to restore into the primary. The operator (a developer) gets the emulator's --admin roles everywhere.
 */
import { buildRbacPlan, type PlannedRoleAssignment, type RbacPlan } from "../shared/rbac/rbacPlan";
import type { RbacPrincipals } from "../shared/rbac/rbacPrincipals";

export interface StackIdentities {
  /** Developer / seeding principal (--admin): Managed HSM Administrator + Crypto Officer + Crypto User, Key Vault Administrator. */
  operator: string;
  rotation: string;
  backup: string;
  drill: string;
  /** Backup retention: deletes expired backups (storage only; Azurite enforces no RBAC, so locally it is only a separate identity). */
  retention: string;
  /** Re-applies the drill's DR-only assignment after each full restore. */
  steward: string;
  /** Approved key recovery on primaries (HSM Lifecycle Recovery): recover or restore one key; never purge or back up. */
  recovery: string;
  /** Read only; the app never signs in as it. */
  auditor: string;
}

export const STACK_IDENTITIES: StackIdentities = {
  operator: "0b5e0a4b-7d2f-4e61-9a3b-0f6d2c8e1a00",
  rotation: "0b5e0a4b-7d2f-4e61-9a3b-0f6d2c8e1a01",
  backup: "0b5e0a4b-7d2f-4e61-9a3b-0f6d2c8e1a02",
  drill: "0b5e0a4b-7d2f-4e61-9a3b-0f6d2c8e1a03",
  steward: "0b5e0a4b-7d2f-4e61-9a3b-0f6d2c8e1a04",
  auditor: "0b5e0a4b-7d2f-4e61-9a3b-0f6d2c8e1a05",
  retention: "0b5e0a4b-7d2f-4e61-9a3b-0f6d2c8e1a06",
  recovery: "0b5e0a4b-7d2f-4e61-9a3b-0f6d2c8e1a07",
};

/**
 * Demo people for dual control (OPERATORS / APPROVERS of the stack): they hold no HSM role — a request is carried
 * out by the workflow identity of its operation (rotation; recovery for key recovery) — and sign in with emulator tokens (`hsm-lifecycle … --as OID`). `outsider` is in
 * neither list.
 */
export const STACK_PEOPLE = {
  operator: "0b5e0a4b-7d2f-4e61-9a3b-0f6d2c8e1b00",
  approvers: ["0b5e0a4b-7d2f-4e61-9a3b-0f6d2c8e1b01", "0b5e0a4b-7d2f-4e61-9a3b-0f6d2c8e1b02", "0b5e0a4b-7d2f-4e61-9a3b-0f6d2c8e1b03"],
  outsider: "0b5e0a4b-7d2f-4e61-9a3b-0f6d2c8e1b09",
} as const;

/** The audience of the stack's request tokens (AUTH_AUDIENCE). */
export const STACK_AUTH_AUDIENCE = "api://hsm-lifecycle";

/** RBAC_PRINCIPAL_IDS of the stack. */
export function stackRbacPrincipalIds(ids: StackIdentities = STACK_IDENTITIES): string {
  return `rotation=${ids.rotation},backup=${ids.backup},drill=${ids.drill},steward=${ids.steward},recovery=${ids.recovery},auditor=${ids.auditor},administrator=${ids.operator}`;
}

export function stackRbacPrincipals(ids: StackIdentities = STACK_IDENTITIES): RbacPrincipals {
  return { ids: { rotation: ids.rotation, backup: ids.backup, drill: ids.drill, steward: ids.steward, recovery: ids.recovery, auditor: ids.auditor }, administrators: [ids.operator] };
}

/** The RBAC plan of HSMs `primary`/`dr` (a drill pair) and vault `app` (names as the stack starts them). */
export function stackRbacPlan(names: { primary: string; dr: string; vault: string }): RbacPlan {
  return buildRbacPlan({
    hsms: [{ name: names.primary, role: "primary" }, { name: names.dr, role: "drillTarget" }],
    vaults: [{ name: names.vault }],
    drillPairs: [{ primary: names.primary, target: names.dr }],
    rbacPrincipals: stackRbacPrincipals(),
  });
}

/** Every planned assignment of the stack, flat. */
export function plannedAssignments(names: { primary: string; dr: string; vault: string }): PlannedRoleAssignment[] {
  return stackRbacPlan(names).instances.flatMap((i) => i.assignments);
}
