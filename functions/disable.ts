/**
 * Early disabling of one superseded key version under dual control: the `earlyDisable` sub-orchestration the request
 * runs once approved (rotation's `disableKeyVersion`, then `verifyDisabledVersion`), and `POST /api/disables`. It runs
 * as the rotation identity, whose role already sets key properties (it disables retired versions); the starter only
 * reads with it before a request is made.
 */
import type { HttpRequest, InvocationContext } from "@azure/functions";
import * as df from "durable-functions";
import { settlePermanentFailures } from "../shared/app/settlePermanentFailures";
import { redactingLog } from "../shared/errors/redactSecrets";
import { earlyDisableRequest } from "../shared/approvals/requestHttp";
import { verifyDisabledVersion, type VerifyDisabledVersionInput } from "../shared/disable/activities/verifyDisabledVersion";
import { earlyDisableOrchestrator } from "../shared/disable/orchestrations/earlyDisable";
import { planEarlyDisable } from "../shared/disable/planEarlyDisable";
import { activityNames, orchestrationNames, triggerNames } from "../shared/names";
import { rotationAuditDeps, rotationWorkflowDeps } from "../shared/rotation/activities/workflowDeps";

/** Durable retries (throttling and brief outages; both steps are idempotent): 2 s, 4 s. */
const retry = new df.RetryOptions(2_000, 3);
retry.backoffCoefficient = 2;

// With the durable client: a failed audit write starts `auditRecordRetry` from here.
df.app.activity(activityNames.verifyDisabledVersion, {
  extraInputs: [df.input.durableClient()],
  handler: settlePermanentFailures(activityNames.verifyDisabledVersion, (input, context) =>
    verifyDisabledVersion(input as VerifyDisabledVersionInput, { ...rotationWorkflowDeps(), ...rotationAuditDeps(), starter: df.getClient(context), logError: redactingLog((line) => context.error(line)) }),
  ),
});

df.app.orchestration(orchestrationNames.earlyDisable, earlyDisableOrchestrator(retry));

// POST /api/disables: an early disable request by the authenticated caller (OPERATORS), checked before it is made.
df.app.client.http(triggerNames.disableHttp, {
  route: "disables",
  methods: ["POST"],
  authLevel: "function",
  handler: (request: HttpRequest, client: df.DurableClient, context: InvocationContext) => earlyDisableRequest(request, client, context, (input) => planEarlyDisable(input, rotationWorkflowDeps())),
});
