/**
 * Event Grid remediation: KeyNearExpiry / KeyExpired / KeyNewVersionCreated from the configured
 * vaults and from our lifecycle topic (where the sweep publishes HSM notices) start the per-key rotation
 * (or record a foreign version). Validation, dedupe and the start live in shared/rotation/activities/remediation.ts.
 */
import { type EventGridEvent, type InvocationContext } from "@azure/functions";
import * as df from "durable-functions";
import { appSettings } from "../shared/app/appSettings";
import { redactingLog } from "../shared/errors/redactSecrets";
import { rotationInstances } from "../shared/config/settings";
import { handleKeyEvents } from "../shared/rotation/activities/remediation";
import { triggerNames } from "../shared/names";
import { readRotationPolicyFile } from "../shared/rotation/readRotationPolicyFile";

df.app.client.eventGrid(triggerNames.keyEventGrid, {
  handler: async (event: EventGridEvent, client: df.DurableClient, context: InvocationContext) => {
    const settings = appSettings();
    const outcomes = await handleKeyEvents(event, {
      settings,
      loadPolicy: () => readRotationPolicyFile(settings.rotation.policyFile, rotationInstances(settings)),
      client,
      // Rejection reasons quote the (hostile) event: redacted before they reach the log.
      log: redactingLog((line) => context.log(line)),
    });
    // Rejections are logged with their reason and start nothing; they are not errors of this delivery
    // (a retry would be rejected again), so the invocation succeeds and Event Grid does not redeliver.
    for (const o of outcomes) if (o.kind === "rejected") redactingLog((line) => context.warn(line))(`key event rejected: ${o.reason}`);
  },
});
