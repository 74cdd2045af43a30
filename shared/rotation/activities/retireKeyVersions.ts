import { decideRetirement, type RetirementPlan } from "../decideRetirement";
import { decisionTime, type RotationDeps, type RotationInstance } from "./deps";
import { disableKeyVersion, type DisableKeyVersionOutput } from "./disableKeyVersion";
import { listKeyVersions } from "./listKeyVersions";

export interface RetireKeyVersionsInput {
  instance: RotationInstance;
  name: string;
  /** The version the rotation produced (never disabled). */
  currentVersion: string;
  /** The rule's grace period (ISO 8601). */
  gracePeriod: string;
  /** Decision instant (ISO); default the deps' clock. */
  now?: string;
}

export interface RetireKeyVersionsOutput {
  plan: RetirementPlan;
  results: DisableKeyVersionOutput[];
}

/**
 * One retirement pass: list the versions, let `decideRetirement` pick the old versions whose grace period has
 * passed, disable those (oldest first). The caller waits until `plan.nextDueOn` (a durable timer) and runs it
 * again. The orchestration may instead call `listKeyVersions` + `decideRetirement` + `disableKeyVersion` itself;
 * both end the same way.
 */
export async function retireKeyVersions(input: RetireKeyVersionsInput, deps: RotationDeps): Promise<RetireKeyVersionsOutput> {
  const now = decisionTime(input, deps);
  const listed = await listKeyVersions({ instance: input.instance, name: input.name }, deps);
  const plan = decideRetirement(listed.versions, input.currentVersion, input.gracePeriod, now);
  const results: DisableKeyVersionOutput[] = [];
  for (const d of plan.disable) {
    // Never the newest: decideRetirement keeps the current version, and a version newer than it is kept too.
    results.push(await disableKeyVersion({ instance: input.instance, name: input.name, version: d.version }, deps));
  }
  return { plan, results };
}
