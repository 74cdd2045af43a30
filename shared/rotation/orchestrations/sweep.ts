/**
 * `rotationSweep`, timer-started, one instance per day and instance set (`sweep:{day}:{hash}`):
 * load the config → list every configured HSM and vault with list pages only (`listDueKeys`) → rotate the
 * due keys in bounded batches, one `rotationBatch` sub-orchestration at a time, so even a 5,000-key HSM keeps
 * every history small → publish the HSM near-expiry notices (Managed HSM has no Event Grid).
 *
 * One instance failing (listing or notices) never stops the others: each instance's listing and notices are
 * single calls, one after the other, each in its own try/catch (a fail-fast Task.all would stop everything at
 * the first failure, and a try/catch around one that holds retrying tasks is unsafe in durable-functions).
 * Each failure is reported for its instance, with what was tried.
 */
import type { OrchestrationContext, RetryOptions, Task } from "durable-functions";
import type { ListDueKeysOutput } from "../activities/listDueKeys";
import type { PublishNoticesOutput } from "../activities/publishNotices";
import { parseActivityFailure } from "../../errors/parseActivityFailure";
import { activityNames, orchestrationNames } from "../../names";
import { batches } from "../batches";
import type { BatchKey, RotationBatchOutput, RotationConfig, RotationRuleSettings, RotationSweepInput, RotationSweepOutput } from "../types";
import { callActivity } from "../../durable/callActivity";
import { finalFailure } from "../../durable/finalFailure";

export function rotationSweepOrchestrator(retry: RetryOptions) {
  return function* rotationSweep(context: OrchestrationContext): Generator<Task, RotationSweepOutput, unknown> {
    const input = context.df.getInput<RotationSweepInput | null>() ?? { trigger: "schedule" };
    const runId = context.df.instanceId;
    const now = context.df.currentUtcDateTime.toISOString();
    const config = yield* callActivity<RotationConfig>(context, retry, activityNames.loadRotationConfig, {});
    const { instances, policy } = config;

    context.df.setCustomStatus({ stage: "list", instances: instances.length });
    const instanceFailures: RotationSweepOutput["failures"] = [];
    const listings: (ListDueKeysOutput | undefined)[] = [];
    for (const instance of instances) {
      try {
        listings.push(yield* callActivity<ListDueKeysOutput>(context, retry, activityNames.listDueKeys, { instance, policy, now }));
      } catch (e) {
        listings.push(undefined);
        instanceFailures.push({ instanceId: instance.name, stage: "list", ...finalFailure(e, retry) });
      }
    }

    const rules = new Map(policy.rules.map((r) => [r.name, r]));
    const due: BatchKey[] = [];
    instances.forEach((instance, i) => {
      for (const key of listings[i]?.due ?? []) {
        const resolved = rules.get(key.decision.rule);
        if (resolved === undefined) continue;
        const rule: RotationRuleSettings = { name: resolved.name, gracePeriod: resolved.gracePeriod };
        if (resolved.newVersionExpiry !== undefined) rule.newVersionExpiry = resolved.newVersionExpiry;
        const trigger = key.decision.reason === "expired" ? "expired" : key.decision.reason === "nearExpiry" ? "nearExpiry" : "policy";
        due.push({ instanceId: key.instanceId, input: { instance, name: key.name, version: key.version, trigger: input.trigger === "manual" ? "manual" : trigger, runId, rule, listedAt: now } });
      }
    });

    const out: RotationSweepOutput = {
      runId,
      at: now,
      instances: instances.map((instance, i) => {
        const l = listings[i];
        const r = l?.requests;
        return {
          name: instance.name,
          listed: l?.listed ?? 0,
          due: l?.due.length ?? 0,
          notices: l?.notices.length ?? 0,
          noticesPublished: 0,
          skipped: { ...(l?.skipped ?? {}) },
          requests: r === undefined ? 0 : r.keyPages + r.versionPages + r.gets,
        };
      }),
      batches: 0,
      started: 0,
      alreadyHandled: 0,
      outcomes: {},
      failures: [...instanceFailures],
    };
    const chunks = batches(due, config.batchSize);
    for (let b = 0; b < chunks.length; b++) {
      context.df.setCustomStatus({ stage: "rotate", batch: b + 1, of: chunks.length });
      const batchId = `${runId}:batch:${b}`;
      let result: RotationBatchOutput;
      try {
        result = (yield context.df.callSubOrchestrator(orchestrationNames.rotationBatch, { keys: chunks[b] }, batchId)) as RotationBatchOutput;
      } catch (e) {
        // Only a lost start race fails a batch (an event started one of its ids between the claim and the
        // start). Its rotations still run in their own instances; the next batches go on, the failure is reported.
        const failure = parseActivityFailure(e);
        out.failures.push({ instanceId: batchId, stage: "batch", code: failure.code, message: failure.detail });
        continue;
      }
      out.batches++;
      out.started += result.started;
      out.alreadyHandled += result.alreadyHandled.length;
      for (const [kind, n] of Object.entries(result.outcomes)) {
        const k = kind as keyof RotationSweepOutput["outcomes"];
        out.outcomes[k] = (out.outcomes[k] ?? 0) + (n ?? 0);
      }
      out.failures.push(...result.failures);
    }

    // Notices go out after the rotations: a KeyNearExpiry for a key the sweep just rotated then reaches the
    // remediation trigger when its rotation id is already Completed, so it is a recognised duplicate rather
    // than a second starter racing the batch for the same id.
    context.df.setCustomStatus({ stage: "notices" });
    const withNotices = instances.map((instance, i) => ({ instance, notices: listings[i]?.notices ?? [] })).filter((x) => x.notices.length > 0);
    for (const x of withNotices) {
      try {
        const published = yield* callActivity<PublishNoticesOutput>(context, retry, activityNames.publishNotices, { instance: x.instance, notices: x.notices, now });
        const entry = out.instances.find((e) => e.name === x.instance.name);
        if (entry !== undefined) entry.noticesPublished = published.published;
      } catch (e) {
        out.failures.push({ instanceId: x.instance.name, stage: "notices", ...finalFailure(e, retry) });
      }
    }
    context.df.setCustomStatus({ stage: "done" });
    return out;
  };
}
