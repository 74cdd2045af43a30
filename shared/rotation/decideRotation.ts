import { addDuration, parseIsoDuration, subtractDuration } from "./isoDuration";
import { type KeyListing, toEpochMs } from "./keyListing";
import type { PolicyInstance, ResolvedRule, RotationPolicy } from "./policyTypes";
import { selectRule } from "./selectRule";
import { serviceLimits } from "./serviceLimits";

/** A near-expiry stage as a canonical ISO duration ("P7D"), or "expired" (→ `KeyExpired` events). */
export type NoticeStage = string;

export type RotateReason = "expired" | "nearExpiry" | "maxAge";
export type SkipReason = "excluded" | "noRule" | "disabled" | "managed" | "notDue" | "versionLimit";

export type RotationDecision =
  | {
      kind: "rotate";
      reason: RotateReason;
      rule: string;
      /** When the key became due (ISO). */
      dueOn: string;
      /** The most urgent notice stage reached, if any: HSM keys get the matching event published too. */
      notice?: NoticeStage;
    }
  | { kind: "notify"; stage: NoticeStage; rule: string }
  | {
      kind: "skip";
      reason: SkipReason;
      rule?: string;
      /** For "notDue": the next instant something is due (rotation or a notice stage), if known (ISO). */
      nextDueOn?: string;
      detail?: string;
    };

export interface DecideOptions {
  /**
   * Number of versions the key has, when the caller knows it (from a versions list page). Managed HSM
   * refuses a 101st version, so a key at the limit is skipped with "versionLimit" instead of failing.
   */
  versionCount?: number;
}

/**
 * Decides what to do with one key. Pure and deterministic: `now` is explicit (orchestrations pass
 * `context.df.currentUtcDateTime`), no I/O, so the sweep, the Event Grid trigger and `plan` agree.
 *
 * Order: exclusions, then the first matching rule (see `selectRule`); disabled and certificate-managed
 * keys are skipped; then expired > nearExpiry > maxAge. Boundaries are inclusive: a key whose expiry is
 * exactly `rotateBeforeExpiry` away is due, and a key is expired at its `expiresOn` instant.
 */
export function decideRotation(
  key: KeyListing,
  instance: PolicyInstance,
  policy: RotationPolicy,
  now: Date,
  options: DecideOptions = {},
): RotationDecision {
  const selection = selectRule(policy, instance.name, key);
  if (selection.kind === "excluded") return { kind: "skip", reason: "excluded", detail: selection.exclusion.reason };
  if (selection.kind === "none") return { kind: "skip", reason: "noRule" };
  const rule = selection.rule;
  if (key.enabled === false) return { kind: "skip", reason: "disabled", rule: rule.name };
  if (key.managed === true) {
    return { kind: "skip", reason: "managed", rule: rule.name, detail: "backs a Key Vault certificate; it rotates when the certificate renews" };
  }
  return decideForRule(key, instance, rule, now, options);
}

function decideForRule(
  key: KeyListing,
  instance: PolicyInstance,
  rule: ResolvedRule,
  now: Date,
  options: DecideOptions,
): RotationDecision {
  const nowMs = now.getTime();
  const expMs = toEpochMs(key.expiresOn);
  const createdMs = toEpochMs(key.createdOn);

  // Notice stages (longest first in the resolved rule): the most urgent one reached wins.
  let notice: NoticeStage | undefined;
  let nextNoticeMs: number | undefined;
  if (expMs !== undefined) {
    if (nowMs >= expMs) notice = "expired";
    else {
      for (const stage of rule.notifyBefore) {
        const at = subtractDuration(new Date(expMs), parseIsoDuration(stage)).getTime();
        if (nowMs >= at) notice = stage;
        else nextNoticeMs = nextNoticeMs === undefined ? at : Math.min(nextNoticeMs, at);
      }
      // The "expired" notice is always coming, with or without stages.
      nextNoticeMs = Math.min(nextNoticeMs ?? expMs, expMs);
    }
  }

  // Rotation triggers, most urgent first.
  const due: { reason: RotateReason; at: number }[] = [];
  if (expMs !== undefined) due.push({ reason: "expired", at: expMs });
  if (expMs !== undefined && rule.rotateBeforeExpiry !== undefined) {
    due.push({ reason: "nearExpiry", at: subtractDuration(new Date(expMs), parseIsoDuration(rule.rotateBeforeExpiry)).getTime() });
  }
  if (createdMs !== undefined && rule.maxAge !== undefined) {
    due.push({ reason: "maxAge", at: addDuration(new Date(createdMs), parseIsoDuration(rule.maxAge)).getTime() });
  }
  const reached = due.find((d) => nowMs >= d.at);

  if (rule.autoRotate && reached !== undefined) {
    const limit = serviceLimits.managedHsm.maxVersionsPerKey;
    if (instance.kind === "managedHsm" && options.versionCount !== undefined && options.versionCount >= limit) {
      return {
        kind: "skip",
        reason: "versionLimit",
        rule: rule.name,
        detail: `has ${options.versionCount} versions; Managed HSM allows ${limit} per key. Fix: move consumers to a new key and retire this one.`,
      };
    }
    const decision: RotationDecision = { kind: "rotate", reason: reached.reason, rule: rule.name, dueOn: new Date(reached.at).toISOString() };
    if (notice !== undefined) decision.notice = notice;
    return decision;
  }
  if (notice !== undefined) return { kind: "notify", stage: notice, rule: rule.name };

  const candidates = [...(rule.autoRotate ? due.map((d) => d.at) : []), ...(nextNoticeMs === undefined ? [] : [nextNoticeMs])];
  const skip: RotationDecision = { kind: "skip", reason: "notDue", rule: rule.name };
  if (candidates.length > 0) skip.nextDueOn = new Date(Math.min(...candidates)).toISOString();
  return skip;
}
