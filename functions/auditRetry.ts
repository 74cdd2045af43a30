/**
 * Audit-trail registrations: `auditRecordRetry`, which retries an outcome's audit record whose write failed, and
 * its one activity. The activity writes as the workflow identity that first tried (the backup or rotation
 * identity, whose role already covers the audit container), so the retry needs no role of its own. Its container
 * clients are built lazily (first call), so a settings problem surfaces in the failed invocation, not at load.
 */
import type { ContainerClient } from "@azure/storage-blob";
import * as df from "durable-functions";
import { appSettings } from "../shared/app/appSettings";
import { settlePermanentFailures } from "../shared/app/settlePermanentFailures";
import { retryAuditRecordWrite } from "../shared/auditRetry/activities/retryAuditRecordWrite";
import type { AuditRetryWorkload } from "../shared/auditRetry/auditRetryInput";
import { auditRecordRetry } from "../shared/auditRetry/orchestrations/auditRecordRetry";
import { credentialFor } from "../shared/hsm/workloadCredential";
import { activityNames, orchestrationNames } from "../shared/names";
import { blobServiceClientFor } from "../shared/storage/blobServiceClientFor";

const containers = new Map<AuditRetryWorkload, ContainerClient>();

function auditContainerAs(workload: AuditRetryWorkload): ContainerClient {
  let container = containers.get(workload);
  if (container === undefined) {
    const settings = appSettings();
    // Few tries, as the first write had: the orchestration's timers are the retries that matter.
    container = blobServiceClientFor(settings.storage, credentialFor(workload, settings), { retryOptions: { maxTries: 2, retryDelayInMs: 500, tryTimeoutInMs: 30_000 } }).getContainerClient(settings.storage.auditContainer);
    containers.set(workload, container);
  }
  return container;
}

df.app.activity(activityNames.retryAuditRecordWrite, {
  handler: settlePermanentFailures(activityNames.retryAuditRecordWrite, (input) => retryAuditRecordWrite(input, auditContainerAs)),
});
df.app.orchestration(orchestrationNames.auditRecordRetry, auditRecordRetry);
