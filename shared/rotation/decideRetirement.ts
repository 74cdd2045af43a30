import { addDuration, parseIsoDuration } from "./isoDuration";
import { type KeyListing, toEpochMs } from "./keyListing";

export type KeepReason = "current" | "inGrace" | "alreadyDisabled" | "unknownAge" | "newerThanCurrent";

export interface RetirementPlan {
  /** Versions to disable now (never purge, never delete). Oldest first. */
  disable: { version: string; supersededOn: string; dueOn: string }[];
  keep: { version: string; reason: KeepReason; dueOn?: string }[];
  /** Earliest future instant a kept version becomes due: the orchestration's next durable timer (ISO). */
  nextDueOn?: string;
}

/**
 * Which old versions to disable. A version is superseded when the next newer version was created; it is
 * disabled once `gracePeriod` has passed since then (consumers such as Azure Storage pick up a new version
 * only daily). The current version is never disabled, whatever the clock or the listing says; nothing is
 * ever purged. Pure: `now` is explicit.
 *
 * @param versions - a `listPropertiesOfKeyVersions` listing (entries need `version` and `createdOn`)
 * @param currentVersion - the version the key resolves to now (from the rotate / get result), never inferred
 * @param gracePeriod - ISO 8601 duration from the rule
 */
export function decideRetirement(
  versions: readonly KeyListing[],
  currentVersion: string,
  gracePeriod: string,
  now: Date,
): RetirementPlan {
  const grace = parseIsoDuration(gracePeriod);
  const nowMs = now.getTime();
  const current = versions.find((v) => v.version === currentVersion);
  const currentCreated = toEpochMs(current?.createdOn);
  const plan: RetirementPlan = { disable: [], keep: [] };
  let next: number | undefined;

  const withAge = versions
    .filter((v): v is KeyListing & { version: string } => typeof v.version === "string" && v.version !== "")
    .map((v) => ({ v, created: toEpochMs(v.createdOn) }));

  for (const { v, created } of withAge) {
    if (v.version === currentVersion) {
      plan.keep.push({ version: v.version, reason: "current" });
      continue;
    }
    if (v.enabled === false) {
      plan.keep.push({ version: v.version, reason: "alreadyDisabled" });
      continue;
    }
    if (created === undefined) {
      plan.keep.push({ version: v.version, reason: "unknownAge" });
      continue;
    }
    // Superseded by the earliest version created strictly after it; the current version always counts.
    let superseded: number | undefined;
    for (const o of withAge) {
      if (o.v.version === v.version || o.created === undefined) continue;
      if (o.created > created || (o.v.version === currentVersion && o.created >= created)) {
        superseded = superseded === undefined ? o.created : Math.min(superseded, o.created);
      }
    }
    if (superseded === undefined) {
      // Created after the current version (clock skew, or a foreign new version not yet current): keep.
      plan.keep.push({ version: v.version, reason: currentCreated === undefined ? "unknownAge" : "newerThanCurrent" });
      continue;
    }
    const dueMs = addDuration(new Date(superseded), grace).getTime();
    if (nowMs >= dueMs) {
      plan.disable.push({ version: v.version, supersededOn: new Date(superseded).toISOString(), dueOn: new Date(dueMs).toISOString() });
    } else {
      plan.keep.push({ version: v.version, reason: "inGrace", dueOn: new Date(dueMs).toISOString() });
      next = next === undefined ? dueMs : Math.min(next, dueMs);
    }
  }
  plan.disable.sort((a, b) => a.supersededOn.localeCompare(b.supersededOn) || a.version.localeCompare(b.version));
  if (next !== undefined) plan.nextDueOn = new Date(next).toISOString();
  return plan;
}
