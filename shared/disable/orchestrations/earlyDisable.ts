/**
 * The approved early disabling of one superseded key version, as a sub-orchestration of the request:
 * `disableKeyVersion` (rotation's own activity: re-reads the key and refuses its current version, never deletes),
 * then `verifyDisabledVersion` (read back `enabled: false`, audit record). The request records completed/failed
 * with the result. Deterministic.
 */
import type { OrchestrationContext, RetryOptions, Task } from "durable-functions";
import { callActivity } from "../../durable/callActivity";
import { parseActivityFailure } from "../../errors/parseActivityFailure";
import { activityNames } from "../../names";
import type { OperationRequestInput } from "../../approvals/requestTypes";
import type { DisableKeyVersionOutput } from "../../rotation/activities/disableKeyVersion";
import type { VerifyDisabledVersionInput, VerifyDisabledVersionOutput } from "../activities/verifyDisabledVersion";

export type EarlyDisableOutput = { kind: "disabled"; version: string; current: string; audit: string } | { kind: "failed"; stage: string; code: string; message: string };

export function earlyDisableOrchestrator(retry: RetryOptions) {
  return function* earlyDisable(context: OrchestrationContext): Generator<Task, EarlyDisableOutput, unknown> {
    const input = context.df.getInput<OperationRequestInput>();
    const version = input.version ?? "";
    let disabled: DisableKeyVersionOutput;
    try {
      disabled = yield* callActivity<DisableKeyVersionOutput>(context, retry, activityNames.disableKeyVersion, { instance: input.instance, name: input.key, version });
    } catch (e) {
      const f = parseActivityFailure(e);
      return { kind: "failed", stage: "disable", code: f.code, message: f.detail };
    }
    if (disabled.kind === "refusedCurrent") return { kind: "failed", stage: "disable", code: "Conflict", message: `${input.key}/${version} has become the key's current version; it was left enabled.` };
    const verifyInput: VerifyDisabledVersionInput = { request: input.request, ticket: input.ticket, instance: input.instance, key: input.key, version, outcome: disabled.kind, at: context.df.currentUtcDateTime.toISOString() };
    const verified = yield* callActivity<VerifyDisabledVersionOutput>(context, retry, activityNames.verifyDisabledVersion, verifyInput);
    const audit = verified.audit.written ? verified.audit.blob : `not written: ${verified.audit.error}`;
    if (verified.kind === "failed") return { kind: "failed", stage: "verify", code: "VerificationFailed", message: `${input.key}/${version} reads back enabled=${String(verified.enabled)} (current ${verified.current}); audit ${audit}` };
    return { kind: "disabled", version, current: verified.current, audit };
  };
}
