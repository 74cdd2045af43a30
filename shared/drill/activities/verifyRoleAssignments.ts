import { fromRestError } from "../../errors/fromRestError";
import type { DrillCheck } from "../drillReport";
import { KeyVaultAccessControlClient } from "../../hsm/keyVaultAccessControlClient";
import type { DrillDeps } from "./deps";
import { drillNow } from "./deps";
import { drillManifestFor } from "./manifestFor";
import { roleAssignmentLine } from "../../backup/backupManifest";
import { guardDrillTarget } from "./targetGuard";
import { missingForNextDrill, nextDrillWarning, type AssignmentFact } from "../nextDrillReadiness";
import { principalIdOf } from "../../hsm/principalIdOf";
import type { KeyVaultPermission } from "../../hsm/keyVaultAccessControlClientModels";

export interface VerifyRoleAssignmentsInput {
  primary: string;
  target: string;
  /** The restored backup's folder: its manifest (v2) holds the role assignments at backup time. */
  folder?: string;
}

export interface VerifyRoleAssignmentsOutput {
  check: DrillCheck;
  /** Things the drill did not fail for but a person must act on (e.g. the next drill would be blocked). */
  warnings: string[];
  finishedAt: string;
}

/**
 * Activity `verifyRoleAssignments`: a full restore replaces DR's role assignments with the backup's, so after it
 * DR must grant exactly what the manifest recorded at backup time (compared by scope, role and principal), not
 * what the primary grants now. Fallback, named in the check: a v1 manifest (or one whose backup identity could
 * not list assignments) holds none, so DR is compared with the live primary, where an assignment made after
 * the backup shows up as a difference.
 *
 * It also warns when the restore left the drill identity without what the NEXT drill needs on DR (backup and
 * restore at "/"): the drill itself passes, but a person has to re-apply DR's roles before the next one.
 */
export async function verifyRoleAssignments(input: VerifyRoleAssignmentsInput, deps: DrillDeps): Promise<VerifyRoleAssignmentsOutput> {
  const { primaryUrl, targetUrl } = guardDrillTarget(deps, input);
  const manifest = input.folder === undefined ? undefined : await drillManifestFor(deps, input.primary, input.folder);
  const recorded = manifest?.roleAssignments;
  const reference = Array.isArray(recorded) ? `of backup ${manifest?.backup.folder ?? ""}` : `of the primary (${fallbackReason(manifest)})`;
  const [primaryFacts, drFacts] = await Promise.all([Array.isArray(recorded) ? recorded : assignments(primaryUrl, deps), assignments(targetUrl, deps)]);
  const p = new Set(primaryFacts.map(roleAssignmentLine));
  const d = new Set(drFacts.map(roleAssignmentLine));
  const problems: string[] = [];
  for (const a of p) if (!d.has(a)) problems.push(`missing on DR: ${a}`);
  for (const a of d) if (!p.has(a)) problems.push(`on DR only: ${a}`);
  return {
    check: {
      name: "roleAssignments",
      passed: problems.length === 0,
      detail: `${p.size - problems.filter((x) => x.startsWith("missing")).length}/${p.size} role assignments ${reference} present on DR${problems.length === 0 ? "" : `; ${problems.length} difference(s)`}.`,
      problems,
    },
    warnings: await nextDrillWarnings(targetUrl, drFacts, deps),
    finishedAt: drillNow(deps).toISOString(),
  };
}

/** Whether DR, as restored, still lets this identity run the next drill; any doubt is said, never thrown. */
async function nextDrillWarnings(targetUrl: string, drFacts: AssignmentFact[], deps: DrillDeps): Promise<string[]> {
  try {
    const principalId = await principalIdOf(deps.credential);
    if (principalId === undefined) return ["Whether the next drill can run was not checked: the drill identity's token names no object id (oid)."];
    const definitions = new Map<string, KeyVaultPermission[]>();
    for await (const def of new KeyVaultAccessControlClient(targetUrl, deps.credential, deps.adminOptions).listRoleDefinitions("/")) definitions.set(def.name, def.permissions ?? []);
    const missing = missingForNextDrill(principalId, drFacts, definitions);
    return missing.length === 0 ? [] : [nextDrillWarning(principalId, missing)];
  } catch (e) {
    const failure = fromRestError(e, { service: "managedHsm", operation: "list role definitions", resource: targetUrl, requiredRole: "HSM Lifecycle Drill Probe", requiredScope: "/" });
    return [`Whether the next drill can run was not checked: ${failure.message}`];
  }
}

function fallbackReason(manifest: { schemaVersion: number; roleAssignmentsUnavailable?: string } | undefined): string {
  if (manifest === undefined) return "no backup named";
  if (manifest.schemaVersion < 2) return `manifest v${manifest.schemaVersion} recorded no role assignments`;
  return `the backup recorded none: ${manifest.roleAssignmentsUnavailable ?? "no reason given"}`;
}

async function assignments(url: string, deps: DrillDeps): Promise<AssignmentFact[]> {
  const out: AssignmentFact[] = [];
  try {
    for await (const a of new KeyVaultAccessControlClient(url, deps.credential, deps.adminOptions).listRoleAssignments("/")) {
      const roleDefinitionId = (a.properties.roleDefinitionId ?? "").split("/").pop() ?? "";
      out.push({ scope: a.properties.scope ?? "/", roleDefinitionId, principalId: a.properties.principalId ?? "?" });
    }
  } catch (e) {
    throw fromRestError(e, { service: "managedHsm", operation: "list role assignments", resource: url, requiredRole: "HSM Lifecycle Drill Probe" });
  }
  return out;
}
