import type { KeyVaultPermission } from "../hsm/keyVaultAccessControlClientModels";

/** What the next drill's first writing steps need on the DR HSM, at scope "/": its own backup, then the restore. */
export const NEXT_DRILL_DATA_ACTIONS: readonly string[] = [
  "Microsoft.KeyVault/managedHsm/backup/start/action",
  "Microsoft.KeyVault/managedHsm/restore/start/action",
];

export interface AssignmentFact {
  scope: string;
  roleDefinitionId: string;
  principalId: string;
}

/**
 * The data actions of `NEXT_DRILL_DATA_ACTIONS` that `principalId` is NOT granted at "/" by `assignments`
 * (role definitions by id; an unknown definition grants nothing). Wildcards (`…/*`, `*`) and notDataActions
 * are honoured as Managed HSM local RBAC applies them: a permission allows what it lists minus what it excludes.
 */
export function missingForNextDrill(principalId: string, assignments: readonly AssignmentFact[], definitions: ReadonlyMap<string, readonly KeyVaultPermission[]>): string[] {
  const granted = assignments
    .filter((a) => a.principalId === principalId && a.scope === "/")
    .flatMap((a) => definitions.get(a.roleDefinitionId) ?? []);
  return NEXT_DRILL_DATA_ACTIONS.filter((action) => !granted.some((p) => (p.dataActions ?? []).some((g) => matches(g, action)) && !(p.notDataActions ?? []).some((n) => matches(n, action))));
}

function matches(pattern: string, action: string): boolean {
  const p = pattern.toLowerCase();
  const a = action.toLowerCase();
  if (p === a || p === "*") return true;
  return p.endsWith("/*") && a.startsWith(p.slice(0, -1));
}

/** The warning a drill report carries when the restore left DR without what the next drill needs. */
export function nextDrillWarning(principalId: string, missing: readonly string[]): string {
  return (
    `After this restore the drill identity (principal ${principalId}) is not granted ${missing.join(" and ")} on DR at scope /: ` +
    `a full restore replaces DR's role assignments with the backup's (the primary's), so the next drill will stop at DR's own backup. ` +
    `Fix: give the DR steward identity (DR_STEWARD_IDENTITY_CLIENT_ID) "HSM Lifecycle DR Steward" at / on the primary and DR ` +
    `("hsm-lifecycle rbac apply" does), or re-apply "HSM Lifecycle Drill DR" on DR with "hsm-lifecycle rbac apply" after each drill. ` +
    `Never grant the drill identity restore on the primary.`
  );
}
