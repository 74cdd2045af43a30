import type { Settings } from "../config/settings";
import type { HsmIdentity } from "./hsmIdentity";
import { normaliseHsmUrl } from "./normaliseHsmUrl";

/** The configuration facts the interlock needs (a subset of `Settings`, so tests and activities pass plain data). */
export type DrillSafetyConfig = Pick<Settings, "hsms" | "drillPairs">;

export interface DrillSafetyRequest {
  /** Configured primary name. */
  primary: string;
  /** Configured drill target name. */
  target: string;
}

export type DrillSafetyVerdict =
  | { safe: true; primaryUrl: string; targetUrl: string }
  | { safe: false; reasons: string[] };

/**
 * The configuration half of the interlock (no I/O): the pair must be configured, the target must be a drill
 * target, and its URL must differ from every configured primary's once both are normalised. Every reason is
 * collected so one refusal names everything that is wrong.
 */
export function assessDrillConfig(config: DrillSafetyConfig, request: DrillSafetyRequest): DrillSafetyVerdict {
  const reasons: string[] = [];
  const pair = config.drillPairs.find((p) => p.primary === request.primary && p.target === request.target);
  if (pair === undefined) {
    const configured = config.drillPairs.map((p) => `${p.primary}=${p.target}`).join(", ") || "none";
    reasons.push(`(${request.primary} → ${request.target}) is not a configured drill pair (DRILL_PAIRS: ${configured}). Fix: add "${request.primary}=${request.target}" to DRILL_PAIRS if that HSM really is a DR HSM.`);
  }
  const target = config.hsms.find((h) => h.name === request.target);
  if (target === undefined) {
    reasons.push(`"${request.target}" is not a configured HSM (HSMS).`);
  } else if (target.role !== "drillTarget") {
    reasons.push(`"${request.target}" is configured as a primary, not as a drill target; a restore would overwrite its production keys.`);
  }
  const targetUrl = safeNormalise(pair?.targetUrl ?? target?.url, reasons, request.target);
  if (targetUrl !== undefined) {
    for (const p of config.hsms.filter((h) => h.role === "primary")) {
      if (safeNormalise(p.url, reasons, p.name) === targetUrl) {
        reasons.push(`the drill target "${request.target}" (${targetUrl}) has the same URL as primary "${p.name}"; a restore would overwrite production keys.`);
      }
    }
  }
  const primaryUrl = safeNormalise(pair?.primaryUrl ?? config.hsms.find((h) => h.name === request.primary)?.url, reasons, request.primary);
  if (reasons.length > 0 || targetUrl === undefined || primaryUrl === undefined) return { safe: false, reasons };
  return { safe: true, primaryUrl, targetUrl };
}

/**
 * The identity half: the HSM behind the target URL must not be any configured primary, compared by what the
 * HSMs report about themselves (name and canonical URL), so an alias of a primary is caught. A primary whose
 * identity could not be read counts as a reason to refuse: the drill cannot prove it is not that HSM.
 */
export function assessDrillIdentity(
  target: { name: string; identity: HsmIdentity },
  primaries: ReadonlyArray<{ name: string; identity?: HsmIdentity; readError?: string }>,
): string[] {
  const reasons: string[] = [];
  const targetUrl = normaliseHsmUrl(target.identity.url);
  for (const p of primaries) {
    if (p.identity === undefined) {
      reasons.push(`could not read the identity of primary "${p.name}" (${p.readError ?? "no answer"}), so the drill cannot prove "${target.name}" is a different HSM. Fix: make the primary reachable, then rerun the drill.`);
      continue;
    }
    if (p.identity.name.toLowerCase() === target.identity.name.toLowerCase() || normaliseHsmUrl(p.identity.url) === targetUrl) {
      reasons.push(`the drill target "${target.name}" is the same HSM as primary "${p.name}" (it reports itself as "${target.identity.name}" at ${target.identity.url}); a restore would overwrite production keys. Fix: point the target at the DR HSM.`);
    }
  }
  return reasons;
}

function safeNormalise(url: string | undefined, reasons: string[], name: string): string | undefined {
  if (url === undefined) return undefined;
  try {
    return normaliseHsmUrl(url);
  } catch (e) {
    reasons.push(`"${name}": ${(e as Error).message}`);
    return undefined;
  }
}
