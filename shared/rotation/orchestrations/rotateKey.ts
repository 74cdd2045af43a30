/**
 * Per-key rotation, instance id `rotate:{vault}:{key}:{version}`:
 * resolve the rule (event-started only) → rotate, at the HSM's pace, setting the service rotation policy only
 * when the rotate's answer shows it differs (one activity, idempotent per version) → verify the new version on
 * the HSM (from the rotate's answer, no GET) and exercise the previous one (one round trip each) → publish KeyRotated or
 * KeyRotationFailed and write the audit record → start the `retireVersions` orchestration, which waits out the grace period.
 *
 * Retirement runs in its own instance so a sweep batch waits for rotations and verifications only, not for
 * grace periods of days. Every expected outcome is a value; activity failures (after durable retries) become
 * `failed` with the error code and the step, so one key's missing role never stops the other keys of a batch.
 * Deterministic: time only from `currentUtcDateTime`, no I/O, no settings.
 */
import type { OrchestrationContext, RetryOptions, Task } from "durable-functions";
import type { EnsurePolicyAndRotateOutput } from "../activities/ensureAndRotate";
import type { ListKeyVersionsOutput } from "../activities/listKeyVersions";
import type { RotateKeyVersionOutput } from "../activities/rotateKeyVersion";
import type { ReserveCreateSlotOutput } from "../activities/reserveCreateSlot";
import type { RecordRotationOutcomeOutput } from "../activities/recordOutcome";
import type { VerifyKeyVersionOutput } from "../activities/verifyKeyVersion";
import { LifecycleError } from "../../errors/lifecycleError";
import { parseActivityFailure } from "../../errors/parseActivityFailure";
import { instanceInputProblem } from "../../instances/resolveConfiguredInstance";
import type { KeyRotatedData, KeyRotationFailedData } from "../../events/lifecycleEventData";
import { activityNames } from "../../names";
import { decideRotation } from "../decideRotation";
import { addDuration, parseIsoDuration } from "../isoDuration";
import { selectRule } from "../selectRule";
import { retirementInstanceId } from "../dedupe";
import type { RotationOutcomeInput } from "../eventInput";
import type { RetireVersionsInput, RotateKeyInput, RotateKeyOutput, RotationRuleSettings } from "../types";
import { callActivity } from "../../durable/callActivity";

type Stage = Extract<RotateKeyOutput, { kind: "failed" }>["stage"];

/** Attempts per step (durable retries); publishing and the retirement start have their own, smaller budget. */
export const ROTATION_ATTEMPTS = 3;

/**
 * How long a listing that named the current version stands in for a GET before the rotate. A person rotating
 * the same key by hand inside this window makes one extra version (the hand-made one then counts as an older
 * version, retired after the grace period); past it, or for a pacing wait that long, the key is read first.
 */
export const FRESH_LISTING_MS = 5 * 60_000;

export function rotateKeyOrchestrator(retry: RetryOptions) {
  return function* rotateKey(context: OrchestrationContext): Generator<Task, RotateKeyOutput, unknown> {
    const input = context.df.getInput<RotateKeyInput>();
    // An input naming a host (not a configured instance) fails the run before any activity or event.
    const refused = instanceInputProblem(input.instance, "rotateKey");
    if (refused !== undefined) throw new LifecycleError("BadParameter", refused);
    const { instance, name, version } = input;
    const base = { instance: instance.name, name };
    let stage: Stage = "resolve";
    let rule: RotationRuleSettings | undefined = input.rule;
    let listedAt = input.listedAt;
    let rotated: Extract<RotateKeyVersionOutput, { kind: "rotated" | "alreadyRotated" }>;
    let verified: Extract<VerifyKeyVersionOutput, { kind: "verified" }>;
    try {
      if (rule === undefined) {
        const resolved = yield* resolveRule(context, input, retry);
        if (resolved.kind === "skip") return { kind: "skipped", ...base, version, reason: resolved.reason };
        rule = resolved.rule;
        listedAt = context.df.currentUtcDateTime.toISOString();
      }
      // The rotate, which sets the service rotation policy only when its answer shows the policy differs (or
      // Managed HSM refuses for want of one): one activity, idempotent per version (a re-run finds the key moved on).
      stage = "rotate";
      // The HSM's pace: claim this rotation's creation slot, wait for it with a durable timer (no activity
      // sits idle meanwhile), then create. Every rotation of the instance, from the sweep, events or the CLI, claims one.
      const slot = yield* callActivity<ReserveCreateSlotOutput>(context, retry, activityNames.reserveCreateSlot, { instance });
      if (slot.slotAt !== null && new Date(slot.slotAt).getTime() > context.df.currentUtcDateTime.getTime()) {
        context.df.setCustomStatus({ stage: "waitingForCreateSlot", slotAt: slot.slotAt });
        yield context.df.createTimer(new Date(slot.slotAt));
      }
      const listingAge = listedAt === undefined ? Number.NaN : context.df.currentUtcDateTime.getTime() - Date.parse(listedAt);
      const rotateInput: { instance: typeof instance; name: string; fromVersion: string; newVersionExpiry?: string; slotAt?: string; confirmCurrent: boolean } = {
        instance,
        name,
        fromVersion: version,
        confirmCurrent: !(listingAge >= 0 && listingAge <= FRESH_LISTING_MS),
      };
      if (slot.slotAt !== null) rotateInput.slotAt = slot.slotAt;
      if (rule.newVersionExpiry !== undefined) rotateInput.newVersionExpiry = rule.newVersionExpiry;
      rotated = yield* callActivity<EnsurePolicyAndRotateOutput>(context, retry, activityNames.ensurePolicyAndRotate, rotateInput);

      stage = "verify";
      const verification = yield* callActivity<VerifyKeyVersionOutput>(context, retry, activityNames.verifyKeyVersion, {
        instance,
        name,
        version: rotated.version,
        // The rotate's own answers (the previous version's from its GET or the key's version record): verification
        // then sends no GET, one round trip on each version.
        key: rotated.newKey,
        previousVersion: version,
        ...(rotated.previousKey === undefined ? {} : { previousKey: rotated.previousKey }),
        roundTrips: "one",
        // The version this rotation created becomes the key's record: the next rotation needs no GET.
        ...(rotated.kind === "rotated" ? { recordAs: { rotatedFrom: version } } : {}),
      });
      if (verification.previous?.kind === "failed" && !context.df.isReplaying) {
        context.warn(`rotate ${instance.name}/${name}: the previous version ${version} failed its round trip (reported in the KeyRotated details): ${verification.previous.reason}`);
      }
      if (verification.kind === "failed") {
        const published = yield* publishFailure(context, input, retry, "VerificationFailed", `new version ${rotated.version} failed verification: ${verification.reason}`, rotated.version);
        // Nothing is retired: the old version stays the one consumers can fall back to.
        return { kind: "failed", ...base, version, stage, code: "VerificationFailed", message: verification.reason, published };
      }
      verified = verification;
    } catch (e) {
      const failure = parseActivityFailure(e);
      if (!context.df.isReplaying) context.warn(`rotate ${instance.name}/${name}/${version} failed at ${stage}: [${failure.code}] ${failure.detail}`);
      const published = yield* publishFailure(context, input, retry, failure.code, failure.detail, null);
      return { kind: "failed", ...base, version, stage, code: failure.code, message: failure.detail, published };
    }

    const at = context.df.currentUtcDateTime.toISOString();
    const retireId = retirementInstanceId(context.df.instanceId, rotated.version);
    const supersededAt = rotated.createdOn === undefined ? context.df.currentUtcDateTime : new Date(rotated.createdOn);
    const retire: RetireVersionsInput = {
      instance,
      name,
      currentVersion: rotated.version,
      gracePeriod: rule.gracePeriod,
      firstPassAt: addDuration(supersededAt, parseIsoDuration(rule.gracePeriod)).toISOString(),
    };
    const data: KeyRotatedData = {
      instance: instance.name,
      instanceKind: instance.kind,
      keyName: name,
      keyId: rotated.keyId,
      newVersion: rotated.version,
      previousVersion: version,
      trigger: input.trigger,
      runId: input.runId,
      rotatedAt: rotated.createdOn ?? at,
      expiresOn: rotated.expiresOn ?? null,
    };
    const published = yield* publish(context, retry, {
      type: "KeyRotated",
      id: `rotated:${context.df.instanceId}`,
      time: at,
      data,
      details: { kind: rotated.kind, rule: rule.name, checks: verified.checks, previous: verified.previous ?? null },
      // The same activity starts `retireVersions`; a failed start leaves old versions enabled longer, no more.
      retirement: { instanceId: retireId, input: retire },
    });

    const out: RotateKeyOutput = {
      kind: rotated.kind,
      ...base,
      previousVersion: version,
      version: rotated.version,
      checks: verified.checks,
      published,
      retirement: retireId,
    };
    if (rotated.expiresOn !== undefined) out.expiresOn = rotated.expiresOn;
    return out;
  };
}

/**
 * Event-started rotations: decide from the key's own listing (tags, expiry, creation) with the same
 * `decideRotation` the sweep and `plan` use, so an event never rotates a key the policy would not.
 */
function* resolveRule(
  context: OrchestrationContext,
  input: RotateKeyInput,
  retry: RetryOptions,
): Generator<Task, { kind: "rotate"; rule: RotationRuleSettings } | { kind: "skip"; reason: string }, unknown> {
  const { instance, name, version, policy } = input;
  if (policy === undefined) return { kind: "skip", reason: "no rule and no policy in the input (starter bug)" };
  const listed = yield* callActivity<ListKeyVersionsOutput>(context, retry, activityNames.listKeyVersions, { instance, name });
  if (listed.current === undefined) return { kind: "skip", reason: "the key has no versions (deleted?)" };
  if (listed.current.toLowerCase() !== version.toLowerCase()) {
    return { kind: "skip", reason: `stale: the key is at version ${listed.current}, not ${version}; nothing to rotate for this version` };
  }
  const listing = listed.versions.find((v) => v.version === listed.current) ?? { name };
  const decision = decideRotation({ ...listing, name }, instance, policy, context.df.currentUtcDateTime, { versionCount: listed.versions.length });
  if (decision.kind !== "rotate") {
    const why = decision.kind === "skip" ? `${decision.reason}${decision.detail === undefined ? "" : `: ${decision.detail}`}${decision.nextDueOn === undefined ? "" : ` (due ${decision.nextDueOn})`}` : `notDue (only the notice stage ${decision.stage} is reached)`;
    return { kind: "skip", reason: `policy: ${why}` };
  }
  const selection = selectRule(policy, instance.name, { name, ...(listing.tags === undefined ? {} : { tags: listing.tags }) });
  if (selection.kind !== "rule") return { kind: "skip", reason: "policy: no rule" };
  const rule: RotationRuleSettings = { name: selection.rule.name, gracePeriod: selection.rule.gracePeriod };
  if (selection.rule.newVersionExpiry !== undefined) rule.newVersionExpiry = selection.rule.newVersionExpiry;
  return { kind: "rotate", rule };
}

function* publishFailure(
  context: OrchestrationContext,
  input: RotateKeyInput,
  retry: RetryOptions,
  code: string,
  message: string,
  currentVersion: string | null,
): Generator<Task, boolean, unknown> {
  const at = context.df.currentUtcDateTime.toISOString();
  const data: KeyRotationFailedData = {
    instance: input.instance.name,
    instanceKind: input.instance.kind,
    keyName: input.name,
    currentVersion: currentVersion ?? input.version,
    trigger: input.trigger,
    errorCode: /^[A-Za-z][A-Za-z0-9]{1,63}$/.test(code) ? code : "Unexpected",
    message: message.slice(0, 1000),
    attempts: ROTATION_ATTEMPTS,
    runId: input.runId,
    failedAt: at,
  };
  return yield* publish(context, retry, { type: "KeyRotationFailed", id: `rotation-failed:${context.df.instanceId}`, time: at, data, details: { code, message } });
}

/**
 * Publishes the outcome event and writes the audit record. Never fails the rotation: a failed publish or
 * audit write is logged and reported as `published: false`.
 */
export function* publish(context: OrchestrationContext, retry: RetryOptions, request: RotationOutcomeInput): Generator<Task, boolean, unknown> {
  try {
    const outcome = yield* callActivity<RecordRotationOutcomeOutput>(context, retry, activityNames.recordRotationOutcome, request);
    if (outcome.audit.written === false && !context.df.isReplaying) context.warn(`${request.type} ${request.id}: audit record not written: ${outcome.audit.error}`);
    if (outcome.retirement?.kind === "failed" && !context.df.isReplaying) context.warn(`${request.id}: retirement ${outcome.retirement.instanceId} not started: ${outcome.retirement.error}`);
    return outcome.event.kind === "published";
  } catch (e) {
    if (!context.df.isReplaying) context.warn(`${request.type} ${request.id} not published: ${parseActivityFailure(e).detail}`);
    return false;
  }
}
