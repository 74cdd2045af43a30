/**
 * The console's read-only views: the fleet page (`GET /api/fleet`, HTML or `?format=json`), the dry run of all
 * three workflows (`GET /api/plan`) and the audit record retries `status` lists (`GET /api/audit-retries`).
 * Function-level auth; handlers live in shared/fleet/. The fleet page and the retries read durable's instance list
 * (the `auditRecordRetry` instances) through the durable client.
 */
import { app, type HttpRequest } from "@azure/functions";
import * as df from "durable-functions";
import { auditRetriesHttpHandler, fleetHttpHandler, planHttpHandler } from "../shared/fleet/fleetHttp";
import { triggerNames } from "../shared/names";

df.app.client.http(triggerNames.fleetHttp, { route: "fleet", methods: ["GET"], authLevel: "function", handler: (request: HttpRequest, client: df.DurableClient) => fleetHttpHandler(request, client) });
app.http(triggerNames.planHttp, { route: "plan", methods: ["GET"], authLevel: "function", handler: planHttpHandler });
df.app.client.http(triggerNames.auditRetriesHttp, { route: "audit-retries", methods: ["GET"], authLevel: "function", handler: (request: HttpRequest, client: df.DurableClient) => auditRetriesHttpHandler(request, client) });
