import { LifecycleError } from "../../errors/lifecycleError";
import { assessDrillConfig } from "../assessDrillSafety";
import type { DrillDeps } from "./deps";

/**
 * The configuration interlock again, inside every activity that writes to the DR HSM, so a wiring mistake in an
 * orchestration (or a hand-started activity) can never restore into a primary. Pure and cheap: no I/O.
 * Returns the normalised URLs to act on: they come from the settings, never from the activity input.
 */
export function guardDrillTarget(deps: Pick<DrillDeps, "settings">, pair: { primary: string; target: string }): { primaryUrl: string; targetUrl: string } {
  const verdict = assessDrillConfig(deps.settings, pair);
  if (!verdict.safe) {
    throw new LifecycleError("DrillRefused", `Refusing to write to "${pair.target}": ${verdict.reasons.join(" ")}`);
  }
  return { primaryUrl: verdict.primaryUrl, targetUrl: verdict.targetUrl };
}
