/**
 * Audit-trail registrations: `auditRecordRetry`, which retries an outcome's audit record whose write failed, and
 * its one activity. The activity writes as the workflow identity that first tried (the backup or rotation
 * identity, whose role already covers the audit container), so the retry needs no role of its own.
 */
import * as df from "durable-functions";
import { settlePermanentFailures } from "../shared/app/settlePermanentFailures";
import { retryAuditRecordWrite } from "../shared/auditRetry/activities/retryAuditRecordWrite";
import { auditContainerAs } from "../shared/auditRetry/auditContainerAs";
import { auditRecordRetry } from "../shared/auditRetry/orchestrations/auditRecordRetry";
import { activityNames, orchestrationNames } from "../shared/names";

df.app.activity(activityNames.retryAuditRecordWrite, {
  handler: settlePermanentFailures(activityNames.retryAuditRecordWrite, (input) => retryAuditRecordWrite(input, auditContainerAs)),
});
df.app.orchestration(orchestrationNames.auditRecordRetry, auditRecordRetry);
