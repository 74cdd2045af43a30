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
import { credentialFor } from "../shared/hsm/workloadCredential";
import { createRotationDeps } from "../shared/rotation/activities/depsFromSettings";
import { handleKeyEvents, type RemediationDeps } from "../shared/rotation/activities/remediation";
import { blobServiceClientFor } from "../shared/storage/blobServiceClientFor";
import { triggerNames } from "../shared/names";
import { readRotationPolicyFile } from "../shared/rotation/readRotationPolicyFile";

let io: Pick<RemediationDeps, "keyClients" | "auditContainer"> | undefined;

/** The rotation identity's key clients (version checks) and the audit container, built once per worker. */
function remediationIo(): Pick<RemediationDeps, "keyClients" | "auditContainer"> {
  if (io !== undefined) return io;
  const settings = appSettings();
  const credential = credentialFor("rotation", settings);
  io = {
    keyClients: createRotationDeps(settings, credential).clients,
    // Few tries: auditing a rejection is best effort and must not hold the delivery.
    auditContainer: blobServiceClientFor(settings.storage, credential, { retryOptions: { maxTries: 2, retryDelayInMs: 500, tryTimeoutInMs: 30_000 } }).getContainerClient(settings.storage.auditContainer),
  };
  return io;
}

df.app.client.eventGrid(triggerNames.keyEventGrid, {
  handler: async (event: EventGridEvent, client: df.DurableClient, context: InvocationContext) => {
    const settings = appSettings();
    const outcomes = await handleKeyEvents(event, {
      ...remediationIo(),
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
