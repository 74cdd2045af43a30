/**
 * `rotationBatch`: one bounded batch of per-key rotations as sub-orchestrations. The ids that an
 * event or an earlier sweep already ran (or is running) are left out first (`claimRotations`), because
 * durable would replace a completed instance started again under the same id. `rotateKey` returns every
 * expected failure as a value, so `Task.all` here only fails on a lost start race, which fails this batch
 * and leaves the next sweep to pick the key up again (rotation is idempotent per version).
 */
import type { OrchestrationContext, RetryOptions, Task } from "durable-functions";
import { activityNames, orchestrationNames } from "../../names";
import type { ClaimRotationsOutput } from "../activities/claim";
import type { RotateKeyOutput, RotationBatchInput, RotationBatchOutput } from "../types";
import { callActivity } from "../../durable/callActivity";

export function rotationBatchOrchestrator(retry: RetryOptions) {
  return function* rotationBatch(context: OrchestrationContext): Generator<Task, RotationBatchOutput, unknown> {
    const { keys } = context.df.getInput<RotationBatchInput>();
    const claim = yield* callActivity<ClaimRotationsOutput>(context, retry, activityNames.claimRotations, { instanceIds: keys.map((k) => k.instanceId) });
    const free = new Set(claim.free);
    const toStart = keys.filter((k) => free.has(k.instanceId));
    const out: RotationBatchOutput = { started: toStart.length, alreadyHandled: keys.filter((k) => !free.has(k.instanceId)).map((k) => k.instanceId), outcomes: {}, failures: [] };
    if (toStart.length === 0) return out;
    const results = (yield context.df.Task.all(toStart.map((k) => context.df.callSubOrchestrator(orchestrationNames.rotateKey, k.input, k.instanceId)))) as RotateKeyOutput[];
    results.forEach((r, i) => {
      out.outcomes[r.kind] = (out.outcomes[r.kind] ?? 0) + 1;
      if (r.kind === "failed") out.failures.push({ instanceId: toStart[i]?.instanceId ?? "", stage: r.stage, code: r.code, message: r.message });
    });
    return out;
  };
}
