/**
 * Key recovery under dual control: the `keyRecovery` sub-orchestration the request runs once approved, its two
 * activities, and `POST /api/recoveries`. Everything here runs as the recovery identity (RECOVERY_IDENTITY_CLIENT_ID):
 * it changes keys only for approved requests; before a request is made the starter only reads with it (does the key
 * exist, is it deleted, which verified backup holds it). The request's own records stay the rotation identity's.
 */
import type { HttpRequest, InvocationContext } from "@azure/functions";
import * as df from "durable-functions";
import { settlePermanentFailures } from "../shared/app/settlePermanentFailures";
import { keyRecoveryRequest } from "../shared/approvals/requestHttp";
import { redactingLog } from "../shared/errors/redactSecrets";
import { activityNames, orchestrationNames, triggerNames } from "../shared/names";
import { planKeyRecovery, recoverKey, type RecoverKeyInput } from "../shared/recovery/activities/recoverKey";
import { verifyRecoveredKey, type VerifyRecoveredKeyInput } from "../shared/recovery/activities/verifyRecoveredKey";
import { keyRecoveryOrchestrator } from "../shared/recovery/orchestrations/keyRecovery";
import { recoveryWorkflowDeps } from "../shared/recovery/recoveryDeps";

/** Durable retries for the verification (throttling and brief outages): 2 s, 4 s. */
const retry = new df.RetryOptions(2_000, 3);
retry.backoffCoefficient = 2;

df.app.activity(activityNames.recoverKey, {
  handler: settlePermanentFailures(activityNames.recoverKey, (input, context) => recoverKey(input as RecoverKeyInput, { ...recoveryWorkflowDeps(), log: redactingLog((line) => context.log(line)) })),
});
// With the durable client: a failed audit write starts `auditRecordRetry` from here.
df.app.activity(activityNames.verifyRecoveredKey, {
  extraInputs: [df.input.durableClient()],
  handler: settlePermanentFailures(activityNames.verifyRecoveredKey, (input, context) =>
    verifyRecoveredKey(input as VerifyRecoveredKeyInput, { ...recoveryWorkflowDeps(), starter: df.getClient(context), logError: redactingLog((line) => context.error(line)) }),
  ),
});

df.app.orchestration(orchestrationNames.keyRecovery, keyRecoveryOrchestrator(retry));

// POST /api/recoveries: a key recovery request by the authenticated caller (OPERATORS), checked before it is made.
df.app.client.http(triggerNames.recoveryHttp, {
  route: "recoveries",
  methods: ["POST"],
  authLevel: "function",
  handler: (request: HttpRequest, client: df.DurableClient, context: InvocationContext) => keyRecoveryRequest(request, client, context, (input) => planKeyRecovery(input, recoveryWorkflowDeps())),
});
