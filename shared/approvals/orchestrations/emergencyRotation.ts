/**
 * The approved emergency rotation, as a sub-orchestration of the request: the key's current version is rotated
 * whether or not the policy finds it due (the rotation itself is `rotateKey` with the rule given, so pacing,
 * verification of the new version, KeyRotated, the audit record and the retirement of old versions are the
 * ordinary rotation's), and for `compromise` the old version is restricted at once to verify/unwrap/decrypt.
 * Deterministic; the request orchestration waits out the grace and disables the old version.
 */
import type { OrchestrationContext, RetryOptions, Task } from "durable-functions";
import { callActivity } from "../../durable/callActivity";
import { LifecycleError } from "../../errors/lifecycleError";
import { activityNames, orchestrationNames } from "../../names";
import type { ListKeyVersionsOutput } from "../../rotation/activities/listKeyVersions";
import { addDuration, parseIsoDuration } from "../../rotation/isoDuration";
import { selectRule } from "../../rotation/selectRule";
import type { RotateKeyInput, RotateKeyOutput, RotationRuleSettings } from "../../rotation/types";
import type { RestrictKeyVersionOutput } from "../activities/restrictKeyVersion";
import type { OperationRequestInput } from "../requestTypes";

export type EmergencyRotationOutput =
  | {
      kind: "rotated";
      previousVersion: string;
      version: string;
      checks: string[];
      /** Set for `compromise`: the old version's remaining key_ops and when the request disables it. */
      restricted?: { keyOps: string[]; disableAfter: string };
    }
  | { kind: "failed"; stage: string; code: string; message: string };

/** Without a matching rule an emergency rotation still runs, with these (the policy defaults' grace). */
const FALLBACK_RULE: RotationRuleSettings = { name: "emergency", gracePeriod: "P2D" };

export function emergencyRotationOrchestrator(retry: RetryOptions) {
  return function* emergencyRotation(context: OrchestrationContext): Generator<Task, EmergencyRotationOutput, unknown> {
    const input = context.df.getInput<OperationRequestInput>();
    const { instance, key: name } = input;
    const listed = yield* callActivity<ListKeyVersionsOutput>(context, retry, activityNames.listKeyVersions, { instance, name });
    if (listed.current === undefined) throw new LifecycleError("KeyNotFound", `${instance.name} has no key "${name}" (or it has no versions). Fix: check the name; a deleted key needs "hsm-lifecycle recover".`);
    const listing = listed.versions.find((v) => v.version === listed.current);
    let rule = FALLBACK_RULE;
    if (input.policy !== undefined) {
      const selection = selectRule(input.policy, instance.name, { name, ...(listing?.tags === undefined ? {} : { tags: listing.tags }) });
      if (selection.kind === "rule") {
        rule = { name: selection.rule.name, gracePeriod: selection.rule.gracePeriod };
        if (selection.rule.newVersionExpiry !== undefined) rule.newVersionExpiry = selection.rule.newVersionExpiry;
      }
    }
    const rotateInput: RotateKeyInput = { instance, name, version: listed.current, trigger: "manual", runId: input.request, rule };
    const rotated = (yield context.df.callSubOrchestrator(orchestrationNames.rotateKey, rotateInput, `${input.request}:rotate`)) as RotateKeyOutput;
    if (rotated.kind === "failed") return { kind: "failed", stage: rotated.stage, code: rotated.code, message: rotated.message };
    if (rotated.kind === "skipped") return { kind: "failed", stage: "rotate", code: "Conflict", message: rotated.reason };
    const out: EmergencyRotationOutput = { kind: "rotated", previousVersion: rotated.previousVersion, version: rotated.version, checks: rotated.checks };
    if (input.reason === "compromise") {
      const disableAfter = addDuration(context.df.currentUtcDateTime, parseIsoDuration(input.compromiseGrace)).toISOString();
      const restricted = yield* callActivity<RestrictKeyVersionOutput>(context, retry, activityNames.restrictKeyVersion, {
        instance,
        name,
        version: rotated.previousVersion,
        newVersion: rotated.version,
        request: input.request,
        ticket: input.ticket,
        disableAfter,
      });
      out.restricted = { keyOps: restricted.keyOps, disableAfter };
    }
    return out;
  };
}
