/**
 * `recordKeyVersion`, instance id `record:{vault}:{key}:{version}`: a KeyNewVersionCreated made by
 * someone else (a person, a pipeline, the service's own auto-rotation) is recorded and verified, never rotated
 * again. A version that fails verification is reported as KeyRotationFailed so a person looks at it.
 */
import type { OrchestrationContext, RetryOptions, Task } from "durable-functions";
import type { RecordForeignVersionOutput } from "../activities/recordForeignVersion";
import { activityNames } from "../../names";
import { publish } from "./rotateKey";
import type { RecordKeyVersionInput, RecordKeyVersionOutput } from "../types";
import { callActivity } from "../../durable/callActivity";

export function recordKeyVersionOrchestrator(retry: RetryOptions) {
  return function* recordKeyVersion(context: OrchestrationContext): Generator<Task, RecordKeyVersionOutput, unknown> {
    const input = context.df.getInput<RecordKeyVersionInput>();
    const { instance, name, version } = input;
    const recorded = yield* callActivity<RecordForeignVersionOutput>(context, retry, activityNames.recordForeignVersion, { instance, name, version });
    const out: RecordKeyVersionOutput = { kind: "recorded", name, version, verification: recorded.verification.kind, isCurrent: recorded.isCurrent, published: false };
    if (recorded.verification.kind === "failed") {
      out.reason = recorded.verification.reason;
      const at = context.df.currentUtcDateTime.toISOString();
      out.published = yield* publish(context, retry, {
        type: "KeyRotationFailed",
        id: `version-failed:${context.df.instanceId}`,
        time: at,
        data: {
          instance: instance.name,
          instanceKind: instance.kind,
          keyName: name,
          currentVersion: version,
          trigger: "manual",
          errorCode: "VerificationFailed",
          message: `a version created outside hsm-lifecycle failed verification: ${recorded.verification.reason}`.slice(0, 1000),
          attempts: 1,
          runId: input.runId,
          failedAt: at,
        },
      });
    }
    return out;
  };
}
