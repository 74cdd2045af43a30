import { comparablePolicy, rotationPolicyOf } from "../../backup/keyInventory";
import { fromRestError } from "../../errors/fromRestError";
import { compareInventory, type ObservedKey } from "../compareInventory";
import type { DrillCheck } from "../drillReport";
import type { KeyClient } from "../../hsm/keyClients";
import type { DrillDeps } from "./deps";
import { drillManifestFor } from "./manifestFor";
import { drillNow } from "./deps";
import { guardDrillTarget } from "./targetGuard";

export interface VerifyRestoredInventoryInput {
  primary: string;
  target: string;
  /** The restored backup's folder name (manifest key). */
  folder: string;
  /** Selective drill: verify only this key (other DR keys are none of its business). */
  keyName?: string;
}

export interface VerifyRestoredInventoryOutput {
  checks: DrillCheck[];
  /** Keys of the backup present on DR with no difference (for the report and the DrillCompleted event). */
  keysVerified: number;
  /** Rotation-policy reads made (operation KeyRotationPolicyGet, not KeyGet: outside the single-key GET budget). */
  policyReads: number;
  finishedAt: string;
}

/**
 * Activity `verifyRestoredInventory`: the manifest's inventory against the DR HSM after the restore, through
 * LIST operations only (keys, versions, enabled, not-before, expiry, tags), plus each key's rotation policy on
 * DR against the policy the manifest recorded at backup time (v2). The primary may have rotated keys or changed
 * policies since the backup, so it is only the reference for v1 manifests, which recorded no policies (noted in
 * the check). Mismatches are check results, not exceptions: the report lists every one.
 */
export async function verifyRestoredInventory(input: VerifyRestoredInventoryInput, deps: DrillDeps): Promise<VerifyRestoredInventoryOutput> {
  const { primaryUrl, targetUrl } = guardDrillTarget(deps, input);
  const manifest = await drillManifestFor(deps, input.primary, input.folder);
  const expected = input.keyName === undefined ? manifest.keys : manifest.keys.filter((k) => k.name === input.keyName);
  const dr = deps.keyClients.keys(targetUrl);
  let observed: ObservedKey[];
  try {
    observed = await listInventory(dr, input.keyName);
  } catch (e) {
    throw fromRestError(e, { service: "managedHsm", operation: "list the DR HSM's keys", resource: targetUrl, requiredRole: "HSM Lifecycle Drill Probe" });
  }
  const inv = compareInventory(expected, observed, input.keyName === undefined ? (manifest.keysDuringBackup ?? []) : (manifest.keysDuringBackup ?? []).filter((k) => k === input.keyName));
  const checks: DrillCheck[] = [
    {
      name: "inventory",
      passed: inv.problems.length === 0 && (input.keyName === undefined || expected.length === 1),
      detail:
        expected.length === 0 && input.keyName !== undefined
          ? `The backup ${input.folder} holds no key "${input.keyName}".`
          : `${inv.keysFound}/${inv.keysExpected} keys and ${inv.versionsFound}/${inv.versionsExpected} versions as in backup ${input.folder}${inv.problems.length === 0 ? "" : `; ${inv.problems.length} difference(s)`}.`,
      problems: inv.problems,
    },
  ];

  // v2 manifests recorded each key's policy at backup time; v1 ones did not, so the live primary is the fallback.
  const policyProblems: string[] = [];
  let policyReads = 0;
  let fromPrimary = 0;
  const primary = deps.keyClients.keys(primaryUrl);
  for (const key of expected) {
    if (!observed.some((o) => o.name === key.name)) continue;
    try {
      const d = JSON.stringify(comparablePolicy(await rotationPolicyOf(dr, key.name)));
      policyReads++;
      let want: string;
      if (key.rotationPolicy !== undefined) {
        want = JSON.stringify(key.rotationPolicy);
      } else {
        want = JSON.stringify(comparablePolicy(await rotationPolicyOf(primary, key.name)));
        policyReads++;
        fromPrimary++;
      }
      if (want !== d) policyProblems.push(`${key.name}: rotation policy on DR differs from the ${key.rotationPolicy !== undefined ? "backup's" : "primary's"}.`);
    } catch (e) {
      throw fromRestError(e, { service: "managedHsm", operation: `read the rotation policy of ${key.name}`, resource: `${targetUrl}/keys/${key.name}`, requiredRole: "HSM Lifecycle Drill Probe" });
    }
  }
  const reference = fromPrimary === 0 ? `as in backup ${input.folder}` : `the primary's (manifest v${manifest.schemaVersion} recorded no policies; a policy changed after the backup shows as a difference)`;
  checks.push({ name: "rotationPolicies", passed: policyProblems.length === 0, detail: `${expected.length - policyProblems.length}/${expected.length} rotation policies ${reference}.`, problems: policyProblems });
  const keysWithProblems = new Set([...inv.problems, ...policyProblems].map((p) => p.split(/[/:]/)[0]));
  const keysVerified = expected.filter((k) => observed.some((o) => o.name === k.name) && !keysWithProblems.has(k.name)).length;
  return { checks, keysVerified, policyReads, finishedAt: drillNow(deps).toISOString() };
}

async function listInventory(client: KeyClient, only: string | undefined): Promise<ObservedKey[]> {
  const names: string[] = [];
  for await (const k of client.listPropertiesOfKeys()) if (only === undefined || k.name === only) names.push(k.name);
  const out: ObservedKey[] = [];
  for (const name of names.sort()) {
    const versions: ObservedKey["versions"] = [];
    for await (const v of client.listPropertiesOfKeyVersions(name)) {
      versions.push({
        version: v.version ?? "",
        enabled: v.enabled ?? null,
        notBefore: v.notBefore?.toISOString() ?? null,
        expiresOn: v.expiresOn?.toISOString() ?? null,
        tags: v.tags ?? {},
      });
    }
    out.push({ name, versions });
  }
  return out;
}
