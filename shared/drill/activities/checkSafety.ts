import { LifecycleError } from "../../errors/lifecycleError";
import { assessDrillBinding, assessDrillConfig, assessDrillIdentity } from "../assessDrillSafety";
import type { HsmIdentity } from "../hsmIdentity";
import type { DrillDeps } from "./deps";

export interface CheckDrillSafetyInput {
  primary: string;
  target: string;
}

export interface DrillSafe {
  kind: "safe";
  primaryUrl: string;
  targetUrl: string;
  targetIdentity: HsmIdentity;
}

/** An expected outcome, returned (not thrown) so durable does not retry a decision that cannot change. */
export interface DrillRefusedOutcome {
  kind: "refused";
  code: "DrillRefused";
  /** `Drill p → t refused before any write: <every reason>` (no code prefix). */
  reason: string;
}

export type CheckDrillSafetyOutput = DrillSafe | DrillRefusedOutcome;

/**
 * Activity `checkDrillSafety`: the interlocks, before the drill makes any call that writes. The target must be
 * a configured drill target of this primary, its URL must differ from every configured primary's, the HSM
 * behind it must not be any configured primary (catches aliases of a primary's URL), and every HSM involved must
 * be positively identified as what the settings call it, from a source the HSM cannot fake (`assessDrillBinding`:
 * ARM in Azure; catches swapped URLs and a production HSM that is not listed). Only reads identities. A refusal is a value, `{kind:"refused", code:"DrillRefused", reason}` listing every reason (ARCHITECTURE
 * "Error model": expected outcomes are values), so the orchestration reports it at once instead of retrying.
 * An unreadable identity is a refusal too: the drill cannot prove the target is not a primary.
 */
export async function checkDrillSafety(input: CheckDrillSafetyInput, deps: DrillDeps): Promise<CheckDrillSafetyOutput> {
  const config = assessDrillConfig(deps.settings, input);
  if (!config.safe) return refuse(input, config.reasons);

  let targetIdentity: HsmIdentity;
  try {
    targetIdentity = await deps.identityOf({ name: input.target, url: config.targetUrl });
  } catch (e) {
    return refuse(input, [`could not read the identity of the target ${config.targetUrl} (${(e as Error).message}); the drill cannot prove it is not a primary. Fix: make the DR HSM reachable, then rerun the drill.`]);
  }
  const primaries = await Promise.all(
    deps.settings.hsms
      .filter((h) => h.role === "primary")
      .map(async (p) => {
        try {
          return { name: p.name, url: p.url, identity: await deps.identityOf(p) };
        } catch (e) {
          return { name: p.name, url: p.url, readError: (e as Error).message };
        }
      }),
  );
  const target = { name: input.target, url: config.targetUrl, identity: targetIdentity };
  const reasons = [...assessDrillIdentity(target, primaries), ...assessDrillBinding(target, primaries)];
  if (reasons.length > 0) return refuse(input, reasons);
  deps.log?.(`drill ${input.primary} → ${input.target}: interlocks passed (target reports "${targetIdentity.name}").`);
  return { kind: "safe", primaryUrl: config.primaryUrl, targetUrl: config.targetUrl, targetIdentity };
}

/**
 * The same interlocks for callers that must not go on when refused (the destructive start activities, which
 * re-check right before the write, and the CLI plan): throws `[DrillRefused]` with every reason.
 */
export async function requireDrillSafe(input: CheckDrillSafetyInput, deps: DrillDeps): Promise<DrillSafe> {
  const verdict = await checkDrillSafety(input, deps);
  if (verdict.kind === "refused") throw new LifecycleError(verdict.code, verdict.reason);
  return verdict;
}

function refuse(input: CheckDrillSafetyInput, reasons: string[]): DrillRefusedOutcome {
  return { kind: "refused", code: "DrillRefused", reason: `Drill ${input.primary} → ${input.target} refused before any write: ${reasons.join(" ")}` };
}
