import { readFile } from "node:fs/promises";
import { instanceRef } from "../../instances/resolveConfiguredInstance";
import { rotationPolicyPath } from "../readRotationPolicyFile";
import { rotationInstances, type Settings } from "../../config/settings";
import type { PlanEntry } from "../planRotation";
import { checkRotationPolicy, type PolicyViolation } from "../checkRotationPolicy";
import type { RotationDeps } from "./deps";
import { listDueKeys, type DueKey, type NoticeKey } from "./listDueKeys";

export interface RotationPlanReport {
  at: string;
  /** Every policy problem (schema and service limits); when non-empty nothing is listed and nothing would run. */
  violations: PolicyViolation[];
  instances: {
    name: string;
    kind: "managedHsm" | "vault";
    listed: number;
    /** What the next sweep at `at` rotates, with the rule and the reason. */
    rotate: Pick<DueKey, "name" | "version" | "instanceId" | "decision" | "expiresOn">[];
    /** HSM notices the sweep would publish. */
    notices: Pick<NoticeKey, "name" | "version" | "stage">[];
    /** Every other key and why it is left alone. */
    skip: PlanEntry[];
  }[];
}

/**
 * The dry run (`plan`, for the HTTP trigger and the operator CLI): what a sweep at `at` (default now) would rotate
 * and why, which notices it would send, every skipped key with its reason, and every policy violation. It uses
 * the same `listDueKeys` and `decideRotation` as the sweep, so its output matches what a following real run
 * does at the same instant. Reads only (list pages); changes nothing.
 */
export async function planRotationRun(
  settings: Pick<Settings, "hsms" | "vaults"> & { rotation: Pick<Settings["rotation"], "policyFile" | "batchSize"> },
  deps: RotationDeps,
  options: { at?: Date; baseDir?: string } = {},
): Promise<RotationPlanReport> {
  const at = options.at ?? deps.now?.() ?? new Date();
  const instances = rotationInstances(settings as Settings);
  const file = settings.rotation.policyFile;
  const full = rotationPolicyPath(file, options.baseDir);
  let text: string;
  try {
    text = await readFile(full, "utf8");
  } catch (e) {
    return { at: at.toISOString(), violations: [{ where: "policy", message: `cannot read ${full} (${(e as { code?: string }).code ?? "read error"}); set ROTATION_POLICY_FILE to an existing JSON file.` }], instances: [] };
  }
  const check = checkRotationPolicy(text, instances);
  const report: RotationPlanReport = { at: at.toISOString(), violations: check.violations, instances: [] };
  if (check.policy === undefined) return report;
  for (const i of instances) {
    const instance = instanceRef(i);
    const listed = await listDueKeys({ instance, policy: check.policy, now: at.toISOString(), includeSkipped: true }, deps);
    report.instances.push({
      name: i.name,
      kind: i.kind,
      listed: listed.listed,
      rotate: listed.due.map((d) => {
        const entry: RotationPlanReport["instances"][number]["rotate"][number] = { name: d.name, version: d.version, instanceId: d.instanceId, decision: d.decision };
        if (d.expiresOn !== undefined) entry.expiresOn = d.expiresOn;
        return entry;
      }),
      notices: listed.notices.map((n) => ({ name: n.name, version: n.version, stage: n.stage })),
      skip: listed.skippedKeys ?? [],
    });
  }
  return report;
}
