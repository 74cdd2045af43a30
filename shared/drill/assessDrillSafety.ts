import type { Settings } from "../config/settings";
import { DRILL_TARGET_TAG, type HsmIdentity } from "./hsmIdentity";
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
    const sameResource = p.identity.resourceId !== undefined && p.identity.resourceId.toLowerCase() === target.identity.resourceId?.toLowerCase();
    if (sameResource || p.identity.name.toLowerCase() === target.identity.name.toLowerCase() || normaliseHsmUrl(p.identity.url) === targetUrl) {
      reasons.push(`the drill target "${target.name}" is the same HSM as primary "${p.name}" (it reports itself as "${target.identity.name}" at ${target.identity.url}); a restore would overwrite production keys. Fix: point the target at the DR HSM.`);
    }
  }
  return reasons;
}

/**
 * The binding half: every HSM the drill involves must be positively identified as what the settings call it,
 * from its identity source, so swapped HSMS URLs or a production HSM that is not listed cannot pass by having
 * a different name. From ARM (Azure): the resource's `properties.hsmUri` must be the configured URL, the target's
 * resource must carry the tag `hsm-lifecycle-role=drill-target` and no primary's may. From the emulator's
 * self-report (emulator mode): the instance must call itself by the configured name.
 */
export function assessDrillBinding(
  target: { name: string; url: string; identity: HsmIdentity },
  primaries: ReadonlyArray<{ name: string; url: string; identity?: HsmIdentity }>,
): string[] {
  const reasons: string[] = [];
  const tag = `${DRILL_TARGET_TAG.name}=${DRILL_TARGET_TAG.value}`;
  const bound = (who: string, name: string, url: string, identity: HsmIdentity): void => {
    if (identity.source === "emulatorSelfReport") {
      if (identity.name !== name) reasons.push(`${who} "${name}" (${url}) reports itself as "${identity.name}": the settings and the HSM disagree (swapped or wrong HSMS URL, or an HSM that is not configured). Fix: correct HSMS.`);
    } else if (safeEquals(identity.url, url) !== true) {
      reasons.push(`${who} "${name}" is configured as ${url}, but its ARM resource ${identity.resourceId ?? identity.name} has hsmUri ${identity.url}: swapped or wrong HSMS / HSM_RESOURCE_IDS. Fix: make both name the same HSM.`);
    }
  };
  bound("the drill target", target.name, target.url, target.identity);
  if (target.identity.source === "arm" && target.identity.declaredRole !== DRILL_TARGET_TAG.value) {
    reasons.push(`the drill target "${target.name}" (ARM resource ${target.identity.resourceId ?? target.identity.name}) is not tagged ${tag}; a drill restores only into an HSM its owners declared a DR HSM. Fix: tag the DR HSM's resource, or correct HSMS / HSM_RESOURCE_IDS if this is a production HSM.`);
  }
  for (const p of primaries) {
    if (p.identity === undefined) continue;
    bound("primary", p.name, p.url, p.identity);
    if (p.identity.source === "arm" && p.identity.declaredRole === DRILL_TARGET_TAG.value) {
      reasons.push(`primary "${p.name}" (ARM resource ${p.identity.resourceId ?? p.identity.name}) is tagged ${tag}: the settings call a DR HSM a primary (swapped HSMS?). Fix: correct HSMS / DRILL_PAIRS.`);
    }
  }
  return reasons;
}

function safeEquals(a: string, b: string): boolean | undefined {
  try {
    return normaliseHsmUrl(a) === normaliseHsmUrl(b);
  } catch {
    return undefined;
  }
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
