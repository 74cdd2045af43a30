/**
 * One dual-control request; its instance id is the request id. It records the request, then waits durably for
 * `required` approvals: each wait races the `decision` external event against a durable timer (at most six days,
 * chained up to the request's expiry), so a runner or host restart loses nothing — approvals already counted are in
 * the history. Every decision is checked here with `decideApproval` against the CURRENT APPROVERS, read by the
 * activity `readApprovers` when the decision arrives (the decision route checks with the same function and the same
 * settings a moment before, for its immediate answer; this check is the one that counts): an approver removed after
 * the request no longer counts, one added since does. Trust boundary: the event's principal is trusted (only the
 * route raises it, after authenticating the caller; anyone else able to raise it holds the durable system key or the
 * host master key, which stay out of people's hands), but never a list: a raised event cannot make anyone outside
 * APPROVERS count. A decision of an earlier version (in history, without `approvers: "current"`) is checked against
 * the list its request carried, so replay gives the same verdicts; without one nobody is listed. At the expiry the
 * request is cancelled. Approved, it runs the operation as a sub-orchestration. Every step is an audit
 * record and an `HsmLifecycle.OperationRequest` event; the custom status is the request's view.
 * Deterministic: time only from `currentUtcDateTime`.
 */
import type { OrchestrationContext, RetryOptions, Task, TimerTask } from "durable-functions";
import { callActivity } from "../../durable/callActivity";
import { parseActivityFailure } from "../../errors/parseActivityFailure";
import type { OperationRequestData } from "../../events/lifecycleEventData";
import { activityNames, orchestrationNames } from "../../names";
import type { DisableKeyVersionOutput } from "../../rotation/activities/disableKeyVersion";
import { MAX_TIMER_MS, waitUntil } from "../../rotation/orchestrations/timers";
import type { RecordRequestStepOutput } from "../activities/recordRequestStep";
import { decideApproval } from "../decideApproval";
import type { PrincipalList } from "../principalList";
import { DECISION_EVENT, type DecisionEventData, type OperationRequestInput, type RequestView } from "../requestTypes";
import type { KeyRecoveryOutput } from "../../recovery/orchestrations/keyRecovery";
import type { EarlyDisableOutput } from "../../disable/orchestrations/earlyDisable";
import type { EmergencyRotationOutput } from "./emergencyRotation";

/** The sub-orchestration that carries out each approved operation. */
const OPERATION_RUNNERS: Partial<Record<OperationRequestInput["operation"], string>> = {
  emergencyRotation: orchestrationNames.emergencyRotation,
  keyRecovery: orchestrationNames.keyRecovery,
  earlyDisable: orchestrationNames.earlyDisable,
};

/** What the sub-orchestration of an approved operation returns. */
type OperationOutput = EmergencyRotationOutput | KeyRecoveryOutput | EarlyDisableOutput;

/** A decision of an earlier version on a request that carries no list: nobody is listed. */
const NO_APPROVERS: PrincipalList = { objectIds: [], groups: [] };

/** Decisions one request takes at most (accepted or refused): bounds its history against a flood of events. */
const MAX_DECISIONS = 200;

export function operationRequestOrchestrator(retry: RetryOptions) {
  return function* operationRequest(context: OrchestrationContext): Generator<Task, RequestView, unknown> {
    const input = context.df.getInput<OperationRequestInput>();
    const now = (): string => context.df.currentUtcDateTime.toISOString();
    const view: RequestView = {
      request: input.request,
      operation: input.operation,
      status: "pending",
      requester: input.requester,
      approvers: [],
      required: input.required,
      instance: input.instance.name,
      key: input.key,
      ...(input.version === undefined ? {} : { version: input.version }),
      reason: input.reason,
      ticket: input.ticket,
      createdAt: input.createdAt,
      expiresAt: input.expiresAt,
      updatedAt: now(),
    };
    let seq = 0;
    function* record(action: OperationRequestData["action"], principal: string | null, message: string | null): Generator<Task, void, unknown> {
      view.updatedAt = now();
      if (message !== null && action !== "refused") view.message = message;
      context.df.setCustomStatus(view);
      const data: OperationRequestData = {
        request: input.request,
        operation: input.operation,
        action,
        status: view.status,
        instance: input.instance.name,
        keyName: input.key,
        requester: input.requester,
        principal,
        approvers: [...view.approvers],
        required: input.required,
        reason: input.reason,
        ticket: input.ticket,
        message: message === null ? null : message.slice(0, 1000),
        at: now(),
      };
      try {
        const out = yield* callActivity<RecordRequestStepOutput>(context, retry, activityNames.recordRequestStep, { data, seq: seq++ });
        if (!out.audit.written && !context.df.isReplaying) context.warn(`${input.request} ${action}: audit record not written: ${out.audit.error}`);
        if (out.index?.closed === false && !context.df.isReplaying) context.warn(`${input.request} ${action}: request index not closed (the listing keeps reading its status): ${out.index.error}`);
      } catch (e) {
        if (!context.df.isReplaying) context.warn(`${input.request} ${action}: not recorded: ${parseActivityFailure(e).detail}`);
      }
    }

    yield* record("requested", input.requester, null);
    const expiresAt = new Date(input.expiresAt).getTime();
    let decisions = 0;
    while (view.approvers.length < input.required) {
      if (context.df.currentUtcDateTime.getTime() >= expiresAt || decisions >= MAX_DECISIONS) {
        view.status = "expired";
        yield* record("expired", null, decisions >= MAX_DECISIONS ? `cancelled after ${MAX_DECISIONS} decisions without approval` : `no ${input.required} approvals by ${input.expiresAt}; cancelled`);
        return view;
      }
      const timer: TimerTask = context.df.createTimer(new Date(Math.min(expiresAt, context.df.currentUtcDateTime.getTime() + MAX_TIMER_MS)));
      const event = context.df.waitForExternalEvent(DECISION_EVENT);
      const winner = yield context.df.Task.any([timer, event]);
      if (winner === timer) continue;
      timer.cancel();
      decisions++;
      const decision = event.result as DecisionEventData;
      let approvers = input.approverList ?? NO_APPROVERS;
      if (decision.approvers === "current") {
        try {
          approvers = yield* callActivity<PrincipalList>(context, retry, activityNames.readApprovers, null);
        } catch (e) {
          yield* record("refused", decision.principal.oid, `APPROVERS could not be read (${parseActivityFailure(e).detail}); the decision did not count. Fix: correct the settings, then decide again.`);
          continue;
        }
      }
      const verdict = decideApproval(view, decision.principal, decision.action, approvers);
      if (verdict.kind === "duplicate") continue;
      if (verdict.kind === "refused") {
        yield* record("refused", decision.principal.oid, verdict.message);
        continue;
      }
      if (verdict.action === "reject") {
        view.status = "rejected";
        view.rejectedBy = decision.principal.oid;
        if (decision.reason !== undefined) view.rejectReason = decision.reason;
        yield* record("rejected", decision.principal.oid, decision.reason ?? null);
        return view;
      }
      view.approvers.push(decision.principal.oid);
      if (view.approvers.length >= input.required) view.status = "approved";
      yield* record("approved", decision.principal.oid, null);
    }
    view.status = "approved";

    let result: OperationOutput;
    try {
      const runner = OPERATION_RUNNERS[input.operation];
      if (runner === undefined) throw new Error(`[BadParameter] The operation ${input.operation} has no runner in this version of the app.`);
      result = (yield context.df.callSubOrchestrator(runner, input, `${input.request}:run`)) as OperationOutput;
    } catch (e) {
      const failure = parseActivityFailure(e);
      result = { kind: "failed", stage: "run", code: failure.code, message: failure.detail };
    }
    view.result = result;
    if (result.kind === "failed") {
      view.status = "failed";
      yield* record("failed", null, `[${result.code}] ${result.message}`);
      return view;
    }
    view.status = "completed";
    yield* record("completed", null, completedMessage(input.key, result));
    // A compromised version stays usable for verify/unwrap until the grace has passed, then it is disabled.
    if ("restricted" in result && result.restricted !== undefined) {
      yield* waitUntil(context, new Date(result.restricted.disableAfter));
      try {
        const disabled = yield* callActivity<DisableKeyVersionOutput>(context, retry, activityNames.disableKeyVersion, { instance: input.instance, name: input.key, version: result.previousVersion });
        view.result = { ...result, previousDisabled: disabled.kind };
      } catch (e) {
        view.result = { ...result, previousDisabled: `failed: ${parseActivityFailure(e).detail}` };
      }
      view.updatedAt = now();
      context.df.setCustomStatus(view);
    }
    return view;
  };
}

/** The completed step's message: what a recovery brought back, or which version was disabled. */
function completedMessage(key: string, result: Exclude<OperationOutput, { kind: "failed" }>): string | null {
  if ("versions" in result) return `${key} ${result.kind}: ${result.versions.length} version(s), current ${result.version} verified (${result.checks.join(", ")})`;
  if (result.kind === "disabled") return `${key}/${result.version} disabled (read back enabled: false); current ${result.current} untouched`;
  return null;
}
