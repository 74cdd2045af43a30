/**
 * Dual-control registrations: the request orchestration, the emergency rotation it runs, their activities, and the
 * request routes. The operations run as the rotation workflow's identity (its deps from functions/rotation.ts).
 */
import type { HttpRequest, InvocationContext } from "@azure/functions";
import * as df from "durable-functions";
import { redactingLog } from "../shared/errors/redactSecrets";
import { settlePermanentFailures } from "../shared/app/settlePermanentFailures";
import { activityNames, orchestrationNames, triggerNames } from "../shared/names";
import { recordRequestStep, type RecordRequestStepInput } from "../shared/approvals/activities/recordRequestStep";
import { readApprovers } from "../shared/approvals/activities/readApprovers";
import { restrictKeyVersion, type RestrictKeyVersionInput } from "../shared/approvals/activities/restrictKeyVersion";
import { operationRequestOrchestrator } from "../shared/approvals/orchestrations/operationRequest";
import { emergencyRotationOrchestrator } from "../shared/approvals/orchestrations/emergencyRotation";
import { listRequestsHandler, requestDecisionHandler } from "../shared/approvals/requestHttp";
import { requestIndexFromSettings } from "../shared/approvals/requestIndexFromSettings";
import { rotationAuditDeps, rotationWorkflowDeps } from "../shared/rotation/activities/workflowDeps";

/** Durable retries per step: 2 s, 4 s (throttling and brief outages). */
const retry = new df.RetryOptions(2_000, 3);
retry.backoffCoefficient = 2;
retry.maxRetryIntervalInMilliseconds = 30_000;

// With the durable client: a failed audit write starts `auditRecordRetry` from here.
df.app.activity(activityNames.recordRequestStep, {
  extraInputs: [df.input.durableClient()],
  handler: settlePermanentFailures(activityNames.recordRequestStep, (input, context) =>
    recordRequestStep(input as RecordRequestStepInput, {
      ...rotationAuditDeps(),
      requestIndex: requestIndexFromSettings(),
      starter: df.getClient(context),
      logError: redactingLog((line) => context.error(line)),
    }),
  ),
});
df.app.activity(activityNames.readApprovers, { handler: settlePermanentFailures(activityNames.readApprovers, () => readApprovers()) });
df.app.activity(activityNames.restrictKeyVersion, {
  extraInputs: [df.input.durableClient()],
  handler: settlePermanentFailures(activityNames.restrictKeyVersion, (input, context) =>
    restrictKeyVersion(input as RestrictKeyVersionInput, {
      ...rotationWorkflowDeps(),
      ...rotationAuditDeps(),
      log: redactingLog((line) => context.log(line)),
      starter: df.getClient(context),
      logError: redactingLog((line) => context.error(line)),
    }),
  ),
});

df.app.orchestration(orchestrationNames.operationRequest, operationRequestOrchestrator(retry));
df.app.orchestration(orchestrationNames.emergencyRotation, emergencyRotationOrchestrator(retry));

// GET /api/requests: pending dual-control requests (any age) and those of the last 30 days, from the request index.
df.app.client.http(triggerNames.requestsHttp, { route: "requests", methods: ["GET"], authLevel: "function", handler: (request: HttpRequest, client: df.DurableClient) => listRequestsHandler(request, client) });

// POST /api/requests/{id}/approve|reject: a decision by the authenticated caller.
df.app.client.http(triggerNames.requestDecisionHttp, {
  route: "requests/{id}/{action}",
  methods: ["POST"],
  authLevel: "function",
  handler: (request: HttpRequest, client: df.DurableClient, context: InvocationContext) => requestDecisionHandler(request, client, context, rotationAuditDeps),
});
