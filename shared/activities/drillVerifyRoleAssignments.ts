import { fromRestError } from "../errors/fromRestError";
import type { DrillCheck } from "../drill/drillReport";
import { KeyVaultAccessControlClient } from "../hsm/keyVaultAccessControlClient";
import type { DrillDeps } from "./drillDeps";
import { drillNow } from "./drillDeps";
import { drillManifestFor } from "./drillManifestFor";
import { roleAssignmentLine } from "../backup/backupManifest";
import { guardDrillTarget } from "./drillTargetGuard";

export interface VerifyRoleAssignmentsInput {
  primary: string;
  target: string;
  /** The restored backup's folder: its manifest (v2) holds the role assignments at backup time. */
  folder?: string;
}

export interface VerifyRoleAssignmentsOutput {
  check: DrillCheck;
  finishedAt: string;
}

/**
 * Activity `verifyRoleAssignments`: a full restore replaces DR's role assignments with the backup's, so after it
 * DR must grant exactly what the manifest recorded at backup time (compared by scope, role and principal), not
 * what the primary grants now. Fallback, named in the check: a v1 manifest (or one whose backup identity could
 * not list assignments) holds none, so DR is compared with the live primary, where an assignment made after
 * the backup shows up as a difference.
 */
export async function verifyRoleAssignments(input: VerifyRoleAssignmentsInput, deps: DrillDeps): Promise<VerifyRoleAssignmentsOutput> {
  const { primaryUrl, targetUrl } = guardDrillTarget(deps, input);
  const manifest = input.folder === undefined ? undefined : await drillManifestFor(deps, input.primary, input.folder);
  const recorded = manifest?.roleAssignments;
  const reference = Array.isArray(recorded) ? `of backup ${manifest?.backup.folder ?? ""}` : `of the primary (${fallbackReason(manifest)})`;
  const [p, d] = await Promise.all([Array.isArray(recorded) ? new Set(recorded.map(roleAssignmentLine)) : assignments(primaryUrl, deps), assignments(targetUrl, deps)]);
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
    finishedAt: drillNow(deps).toISOString(),
  };
}

function fallbackReason(manifest: { schemaVersion: number; roleAssignmentsUnavailable?: string } | undefined): string {
  if (manifest === undefined) return "no backup named";
  if (manifest.schemaVersion < 2) return `manifest v${manifest.schemaVersion} recorded no role assignments`;
  return `the backup recorded none: ${manifest.roleAssignmentsUnavailable ?? "no reason given"}`;
}

async function assignments(url: string, deps: DrillDeps): Promise<Set<string>> {
  const out = new Set<string>();
  try {
    for await (const a of new KeyVaultAccessControlClient(url, deps.credential, deps.adminOptions).listRoleAssignments("/")) {
      const roleDefinitionId = (a.properties.roleDefinitionId ?? "").split("/").pop() ?? "";
      out.add(roleAssignmentLine({ scope: a.properties.scope ?? "/", roleDefinitionId, principalId: a.properties.principalId ?? "?" }));
    }
  } catch (e) {
    throw fromRestError(e, { service: "managedHsm", operation: "list role assignments", resource: url, requiredRole: "Managed HSM Administrator" });
  }
  return out;
}
