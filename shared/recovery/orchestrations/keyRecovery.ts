/**
 * The approved key recovery, as a sub-orchestration of the request: `recoverKey` once (no durable retry: the key
 * being back after a lost reply would make a second attempt refuse), then `verifyRecoveredKey` (crypto round trip,
 * every backed-up version back, audit record) with retries. The request records completed/failed with the result.
 * Deterministic.
 */
import type { OrchestrationContext, RetryOptions, Task } from "durable-functions";
import { callActivity } from "../../durable/callActivity";
import { parseActivityFailure } from "../../errors/parseActivityFailure";
import { activityNames } from "../../names";
import type { OperationRequestInput } from "../../approvals/requestTypes";
import type { RecoverKeyInput, RecoverKeyOutput } from "../activities/recoverKey";
import type { VerifyRecoveredKeyOutput } from "../activities/verifyRecoveredKey";

export type KeyRecoveryOutput =
  | { kind: "recovered" | "restored"; version: string; versions: string[]; checks: string[]; folder?: string; jobId?: string; audit: string }
  | { kind: "failed"; stage: string; code: string; message: string };

export function keyRecoveryOrchestrator(retry: RetryOptions) {
  return function* keyRecovery(context: OrchestrationContext): Generator<Task, KeyRecoveryOutput, unknown> {
    const input = context.df.getInput<OperationRequestInput>();
    const recoverInput: RecoverKeyInput = { request: input.request, instance: input.instance, key: input.key, ...(input.backupFolder === undefined ? {} : { backupFolder: input.backupFolder }) };
    let recovered: RecoverKeyOutput;
    try {
      recovered = yield* callActivity<RecoverKeyOutput>(context, undefined, activityNames.recoverKey, recoverInput);
    } catch (e) {
      const f = parseActivityFailure(e);
      return { kind: "failed", stage: "recover", code: f.code, message: f.detail };
    }
    const verified = yield* callActivity<VerifyRecoveredKeyOutput>(context, retry, activityNames.verifyRecoveredKey, {
      request: input.request,
      instance: input.instance,
      key: input.key,
      recovered,
      at: context.df.currentUtcDateTime.toISOString(),
    });
    const audit = verified.audit.written ? verified.audit.blob : `not written: ${verified.audit.error}`;
    if (verified.kind === "failed") return { kind: "failed", stage: "verify", code: "VerificationFailed", message: `${input.key} came back (${recovered.path}) but ${verified.reason ?? "did not verify"}; audit ${audit}` };
    const out: KeyRecoveryOutput = { kind: recovered.path, version: verified.version, versions: recovered.versions, checks: verified.checks, audit };
    if (recovered.path === "restored") Object.assign(out, { folder: recovered.folder, jobId: recovered.jobId });
    return out;
  };
}
