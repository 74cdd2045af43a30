import type { AuditRetryView } from "../shared/fleet/auditRetryAttention";
import { triggerNames } from "../shared/names";
import { createFunctionAppClient, type FunctionKeyFor } from "./functionAppClient";

/**
 * The audit record retries as the function app lists them (`GET /api/audit-retries`): durable's instances are only
 * the app's to read, so `status` asks it when it knows the app (`--app-url`, or the running local stack). Throws
 * naming the answer when the app refuses or does not have the route.
 */
export function appAuditRetries(appUrl: string, functionKeyFor: FunctionKeyFor): () => Promise<AuditRetryView[]> {
  return async () => {
    const r = await createFunctionAppClient(appUrl, functionKeyFor).send(triggerNames.auditRetriesHttp, "GET", "/api/audit-retries");
    const retries = (r.body as { retries?: unknown } | null)?.retries;
    if (r.status === 200 && Array.isArray(retries)) return retries as AuditRetryView[];
    const fix = r.status === 404 ? "deploy the current app" : "check the function app's log";
    throw new Error(`GET ${appUrl}/api/audit-retries answered ${r.status}. Fix: ${fix}, or leave --app-url off to skip audit record retries.`);
  };
}
