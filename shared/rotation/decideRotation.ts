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
      /**
       * For a key nobody rotates ("excluded", "versionLimit"): the notice stage it reached, so the sweep still
       * sends KeyNearExpiry / KeyExpired (with the reason) and a person acts before it expires.
       */
      notice?: NoticeStage;
    };

/**
 * Notice stages of an excluded key no rule would govern: Key Vault's own KeyNearExpiry lead time (30 days), so an
 * HSM key is announced no later than a vault key would be.
 */
export const UNGOVERNED_NOTICE_STAGES: readonly string[] = ["P30D"];

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
  if (selection.kind === "excluded") {
    const skip: RotationDecision = { kind: "skip", reason: "excluded", detail: selection.exclusion.reason };
    // An excluded key still expires: announce it on the stages of the rule it would fall under otherwise.
    if (key.enabled !== false && key.managed !== true) {
      const wouldBe = selectRule({ ...policy, exclusions: [] }, instance.name, key);
      const notice = noticeOf(key, wouldBe.kind === "rule" ? wouldBe.rule.notifyBefore : UNGOVERNED_NOTICE_STAGES, now).notice;
      if (notice !== undefined) skip.notice = notice;
    }
    return skip;
  }
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

  const { notice, nextNoticeMs } = noticeOf(key, rule.notifyBefore, now);

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
      const skip: RotationDecision = {
        kind: "skip",
        reason: "versionLimit",
        rule: rule.name,
        detail: `has ${options.versionCount} versions; Managed HSM allows ${limit} per key. Fix: move consumers to a new key and retire this one.`,
      };
      if (notice !== undefined) skip.notice = notice;
      return skip;
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

/**
 * The most urgent notice stage reached (stages longest first), or "expired"; and when the next one comes. A key
 * without expiry gets none.
 */
function noticeOf(key: KeyListing, stages: readonly string[], now: Date): { notice?: NoticeStage; nextNoticeMs?: number } {
  const nowMs = now.getTime();
  const expMs = toEpochMs(key.expiresOn);
  if (expMs === undefined) return {};
  if (nowMs >= expMs) return { notice: "expired" };
  let notice: NoticeStage | undefined;
  let nextNoticeMs: number | undefined;
  for (const stage of stages) {
    const at = subtractDuration(new Date(expMs), parseIsoDuration(stage)).getTime();
    if (nowMs >= at) notice = stage;
    else nextNoticeMs = nextNoticeMs === undefined ? at : Math.min(nextNoticeMs, at);
  }
  // The "expired" notice is always coming, with or without stages.
  nextNoticeMs = Math.min(nextNoticeMs ?? expMs, expMs);
  return notice === undefined ? { nextNoticeMs } : { notice, nextNoticeMs };
}
