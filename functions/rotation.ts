/**
 * Rotation registrations: the expiry-sweep timer, the rotation orchestrations and their activities. Handlers
 * live in shared/; activity deps are built lazily (first call) from the app settings and the rotation
 * workflow's managed identity, so a settings problem surfaces in the failed invocation, not at load.
 */
import { app, type HttpRequest, type InvocationContext, type Timer } from "@azure/functions";
import * as df from "durable-functions";
import { appSettings, scheduleSetting } from "../shared/app/appSettings";
import { activityNames, orchestrationNames, triggerNames } from "../shared/names";
import { settlePermanentFailures } from "../shared/app/settlePermanentFailures";
import { redactingLog } from "../shared/errors/redactSecrets";
import { rotationActivityHandlers } from "../shared/rotation/activities/activityHandlers";
import { rotationAuditDeps, rotationWorkflowDeps } from "../shared/rotation/activities/workflowDeps";
import type { RotationDeps } from "../shared/rotation/activities/deps";
import { retireKeyVersions } from "../shared/rotation/activities/retireKeyVersions";
import { ensurePolicyAndRotate } from "../shared/rotation/activities/ensureAndRotate";
import { recordForeignVersion } from "../shared/rotation/activities/recordForeignVersion";
import { recordRotationOutcome } from "../shared/rotation/activities/recordOutcome";
import { loadRotationConfig } from "../shared/rotation/activities/loadConfig";
import { claimRotations } from "../shared/rotation/activities/claim";
import { startDailySweep } from "../shared/rotation/activities/sweepStarter";
import { rotationHttpHandler } from "../shared/rotation/activities/rotationHttp";
import { planRotationRun } from "../shared/rotation/activities/plan";
import { rotateKeyOrchestrator, ROTATION_ATTEMPTS } from "../shared/rotation/orchestrations/rotateKey";
import { rotationBatchOrchestrator } from "../shared/rotation/orchestrations/batch";
import { rotationSweepOrchestrator } from "../shared/rotation/orchestrations/sweep";
import { retireVersionsOrchestrator } from "../shared/rotation/orchestrations/retireVersions";
import { recordKeyVersionOrchestrator } from "../shared/rotation/orchestrations/recordKeyVersion";

/** Durable retries per step: 2 s, 4 s (throttling and brief outages); a missing role fails after these. */
const retry = new df.RetryOptions(2_000, ROTATION_ATTEMPTS);
retry.backoffCoefficient = 2;
retry.maxRetryIntervalInMilliseconds = 30_000;

const deps = rotationWorkflowDeps;
const audit = rotationAuditDeps;

/** Wraps an `(input, deps)` activity for registration; its log lines go to that invocation's log. */
function activity<I, O>(name: string, handler: (input: I, d: RotationDeps) => Promise<O>): void {
  df.app.activity(name, { handler: settlePermanentFailures(name, (input, context) => handler(input as I, { ...deps(), log: redactingLog((line) => context.log(line)) })) });
}

/** Activities that start or inspect durable instances get the durable client input. */
function clientActivity<I, O>(name: string, handler: (input: I, client: df.DurableClient) => Promise<O>): void {
  df.app.activity(name, {
    extraInputs: [df.input.durableClient()],
    handler: settlePermanentFailures(name, (input, context) => handler(input as I, df.getClient(context))),
  });
}

for (const [name, handler] of Object.entries(rotationActivityHandlers)) {
  activity(name, handler as (input: unknown, d: RotationDeps) => Promise<unknown>);
}
activity(activityNames.retireKeyVersions, retireKeyVersions);
activity(activityNames.ensurePolicyAndRotate, ensurePolicyAndRotate);
activity(activityNames.recordForeignVersion, recordForeignVersion);
df.app.activity(activityNames.recordRotationOutcome, {
  extraInputs: [df.input.durableClient()],
  handler: settlePermanentFailures(activityNames.recordRotationOutcome, (input, context) =>
    recordRotationOutcome(input as Parameters<typeof recordRotationOutcome>[0], { ...audit(), starter: df.getClient(context), logError: redactingLog((line) => context.error(line)) }),
  ),
});
df.app.activity(activityNames.loadRotationConfig, { handler: settlePermanentFailures(activityNames.loadRotationConfig, async () => loadRotationConfig(appSettings())) });
clientActivity(activityNames.claimRotations, claimRotations);

df.app.orchestration(orchestrationNames.rotationSweep, rotationSweepOrchestrator(retry));
df.app.orchestration(orchestrationNames.rotationBatch, rotationBatchOrchestrator(retry));
df.app.orchestration(orchestrationNames.rotateKey, rotateKeyOrchestrator(retry));
df.app.orchestration(orchestrationNames.retireVersions, retireVersionsOrchestrator(retry));
df.app.orchestration(orchestrationNames.recordKeyVersion, recordKeyVersionOrchestrator(retry));

df.app.client.timer(triggerNames.rotationSweepTimer, {
  schedule: scheduleSetting("sweep"),
  handler: async (_timer: Timer, client: df.DurableClient, context: InvocationContext) => {
    await startDailySweep(client, appSettings(), new Date(), { trigger: "schedule" }, (line) => context.log(line));
  },
});

// Dry run: GET /api/rotation/plan[?at=ISO] → what the sweep would rotate and why, and every policy violation.
app.http(triggerNames.rotationPlanHttp, {
  methods: ["GET"],
  authLevel: "function",
  route: "rotation/plan",
  handler: async (request: HttpRequest, context: InvocationContext) => {
    const atText = request.query.get("at");
    const at = atText === null ? new Date() : new Date(atText);
    if (Number.isNaN(at.getTime())) return { status: 400, jsonBody: { error: { code: "BadParameter", message: `"at" must be an ISO 8601 instant; got "${atText ?? ""}".` } } };
    const report = await planRotationRun(appSettings(), { ...deps(), log: redactingLog((line) => context.log(line)) }, { at });
    return { status: report.violations.length > 0 ? 422 : 200, jsonBody: report };
  },
});

// POST /api/rotations: a manual sweep ({}) or rotations of named key versions; 202 with run ids and status paths.
df.app.client.http(triggerNames.rotationHttp, { route: "rotations", methods: ["POST"], authLevel: "function", handler: rotationHttpHandler });
