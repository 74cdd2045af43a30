/**
 * `retireVersions`, instance id `retire:{vault}:{key}:{new version}`, started by a rotation once
 * its new version is verified. Each pass lists the versions and disables those whose grace period has
 * passed (never the current one, never a purge); then it sleeps until the next one is due with durable timers
 * chained in six-day steps, and passes again. Decisions use `currentUtcDateTime`, handed to the activity as
 * `now`, so a replay decides the same.
 */
import type { OrchestrationContext, RetryOptions, Task } from "durable-functions";
import type { RetireKeyVersionsOutput } from "../activities/retireKeyVersions";
import { activityNames } from "../../names";
import { waitUntil } from "./timers";
import type { RetireVersionsInput, RetireVersionsOutput } from "../types";
import { callActivity } from "../../durable/callActivity";

/** A rotation leaves one old version in grace; a few passes cover stragglers without an unbounded history. */
export const MAX_RETIRE_PASSES = 5;

export function retireVersionsOrchestrator(retry: RetryOptions) {
  return function* retireVersions(context: OrchestrationContext): Generator<Task, RetireVersionsOutput, unknown> {
    const { firstPassAt, ...input } = context.df.getInput<RetireVersionsInput>();
    if (firstPassAt !== undefined) {
      context.df.setCustomStatus({ waitingUntil: firstPassAt, disabled: 0 });
      yield* waitUntil(context, new Date(firstPassAt));
    }
    const disabled: string[] = [];
    let kept = 0;
    for (let pass = 1; pass <= MAX_RETIRE_PASSES; pass++) {
      const result = yield* callActivity<RetireKeyVersionsOutput>(context, retry, activityNames.retireKeyVersions, {
        ...input,
        now: context.df.currentUtcDateTime.toISOString(),
      });
      for (const r of result.results) if (r.kind === "disabled" || r.kind === "alreadyDisabled") disabled.push(r.version);
      kept = result.plan.keep.length;
      if (result.plan.nextDueOn === undefined) return { disabled, kept, passes: pass };
      if (pass === MAX_RETIRE_PASSES) break;
      context.df.setCustomStatus({ waitingUntil: result.plan.nextDueOn, disabled: disabled.length });
      yield* waitUntil(context, new Date(result.plan.nextDueOn));
    }
    return { disabled, kept, passes: MAX_RETIRE_PASSES, stoppedEarly: true };
  };
}
