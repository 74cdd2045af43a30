import { type RotationDecision, decideRotation } from "./decideRotation";
import type { KeyListing } from "./keyListing";
import type { PolicyInstance, RotationPolicy } from "./policyTypes";

export interface PlanEntry {
  instance: string;
  key: string;
  decision: RotationDecision;
}

export interface RotationPlan {
  at: string;
  rotate: PlanEntry[];
  notify: PlanEntry[];
  skip: PlanEntry[];
}

/**
 * The dry run: every key's decision, grouped. It calls the same `decideRotation` the sweep uses with the
 * same `now`, so `plan` output matches what a following real run does. Pure; changes nothing.
 * Policy violations come from `checkRotationPolicy` and are reported next to this plan.
 */
export function planRotation(
  listings: readonly { instance: PolicyInstance; keys: readonly KeyListing[]; versionCounts?: Readonly<Record<string, number>> }[],
  policy: RotationPolicy,
  now: Date,
): RotationPlan {
  const plan: RotationPlan = { at: now.toISOString(), rotate: [], notify: [], skip: [] };
  for (const { instance, keys, versionCounts } of listings) {
    for (const key of keys) {
      const count = versionCounts?.[key.name];
      const decision = decideRotation(key, instance, policy, now, count === undefined ? {} : { versionCount: count });
      plan[decision.kind].push({ instance: instance.name, key: key.name, decision });
    }
  }
  return plan;
}
