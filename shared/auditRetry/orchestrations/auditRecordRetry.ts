/**
 * `auditRecordRetry`, instance id `audit-retry:{blob name}` (see `auditRetryInstanceId`), started by an outcome
 * activity whose audit write failed for a storage reason. It waits on durable timers along `auditRetryDueAt`
 * (5 min, 30 min, 2 h, 6 h after one another, then every 12 h until 72 h after its start, moments after the
 * failure) and tries the write
 * again each time through `retryAuditRecordWrite`. It ends at the first success (or the same record found
 * already there), at a conflicting record (error log: the original stays), or when the schedule runs out (error
 * log: the record is still missing). Time comes from `currentUtcDateTime` only.
 */
import type { OrchestrationContext, Task } from "durable-functions";
import { callActivity } from "../../durable/callActivity";
import { activityNames } from "../../names";
import { waitUntil } from "../../rotation/orchestrations/timers";
import type { RetryAuditRecordWriteOutput } from "../activities/retryAuditRecordWrite";
import { checkAuditRetryInput, type AuditRecordRetryOutput } from "../auditRetryInput";
import { auditRetryDueAt } from "../retrySchedule";

export function* auditRecordRetry(context: OrchestrationContext): Generator<Task, AuditRecordRetryOutput, unknown> {
  const raw = context.df.getInput<unknown>();
  let input: ReturnType<typeof checkAuditRetryInput>;
  try {
    input = checkAuditRetryInput(raw);
  } catch (e) {
    const error = (e as Error).message;
    if (!context.df.isReplaying) context.error(`auditRecordRetry ${context.df.instanceId}: ${error}`);
    return { kind: "invalid", blobName: String((raw as { blobName?: unknown } | null)?.blobName ?? ""), attempts: 0, error };
  }
  const { blobName } = input;
  const log = (line: string, level: "log" | "error" = "log"): void => {
    if (!context.df.isReplaying) context[level](`audit record ${blobName}: ${line}`);
  };
  // The schedule counts from this instance's start (moments after the failure), on the orchestration's own clock:
  // `failedAt` is the activity's clock, which need not agree with durable time (it is kept for the logs).
  const startedAt = context.df.currentUtcDateTime;
  let lastError = input.error;
  for (let attempt = 1; ; attempt++) {
    const due = auditRetryDueAt(startedAt, attempt);
    if (due === undefined) {
      const gaveUp = `still not written after ${attempt - 1} retries over 72 h (last: ${lastError}); the record is missing from the audit trail. Restore access to the audit container for the ${input.workload} identity, then write it from the input of durable instance ${context.df.instanceId} (its blob name and record).`;
      log(`gave up: ${gaveUp}`, "error");
      context.df.setCustomStatus({ stage: "gaveUp", attempts: attempt - 1, error: lastError });
      return { kind: "gaveUp", blobName, attempts: attempt - 1, error: gaveUp };
    }
    context.df.setCustomStatus({ stage: "waiting", attempt, waitingUntil: due.toISOString(), error: lastError });
    yield* waitUntil(context, due);
    let result: RetryAuditRecordWriteOutput;
    try {
      result = yield* callActivity<RetryAuditRecordWriteOutput>(context, undefined, activityNames.retryAuditRecordWrite, input);
    } catch (e) {
      // The activity itself failed (a settings problem, a crashed worker): one lost slot, not the end.
      result = { kind: "failed", error: (e as Error).message ?? String(e) };
    }
    if (result.kind === "written" || result.kind === "unchanged") {
      log(`${result.kind === "written" ? "written" : "found already written"} on retry ${attempt} (first write failed at ${input.failedAt}: ${input.error})`);
      return { kind: result.kind, blobName, attempts: attempt };
    }
    if (result.kind === "taken") {
      // An append-only writer cannot read what holds the name: almost always the first write, whose answer was lost.
      log(`a record already holds the name on retry ${attempt}; the ${input.workload} identity cannot read it to compare (append-only). Compare it with this instance's input as the auditor identity.`, "error");
      return { kind: "taken", blobName, attempts: attempt };
    }
    if (result.kind === "conflict") {
      log(`retries stopped on retry ${attempt}: ${result.error}`, "error");
      return { kind: "conflict", blobName, attempts: attempt, error: result.error };
    }
    lastError = result.error;
    log(`retry ${attempt} failed: ${lastError}`);
  }
}
