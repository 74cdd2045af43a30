import type { HttpRequest, HttpResponseInit } from "@azure/functions";
import type { DurableClient } from "durable-functions";
import { listAuditRetries } from "../auditRetry/listAuditRetries";
import { appRoot } from "../app/appRoot";
import { appSettings } from "../app/appSettings";
import { badRequestResponse } from "../app/startedResponse";
import { isLifecycleError } from "../errors/lifecycleError";
import { fleetContextFrom, type FleetContext } from "./fleetContext";
import { fleetPlan, fleetPlanJson } from "./fleetPlan";
import { fleetStatus, fleetStatusJson } from "./fleetStatus";
import { FLEET_PAGE_CSP, renderFleetHtml } from "./renderFleetHtml";

/** Both answers are live reads: no cache may keep them, and no browser may guess another content type. */
const COMMON_HEADERS = { "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer" };

let base: FleetContext | undefined;

/** The workflows' identities and clients, built once per worker; a settings problem answers 500 naming it. */
function contextAt(now: Date): FleetContext | HttpResponseInit {
  try {
    base ??= fleetContextFrom(appSettings(), { baseDir: appRoot(), now });
  } catch (e) {
    const message = isLifecycleError(e) ? e.message : `[SettingsInvalid] ${(e as Error).message}`;
    return { status: 500, headers: COMMON_HEADERS, jsonBody: { error: { code: "SettingsInvalid", message } } };
  }
  return { ...base, now };
}

function isContext(c: FleetContext | HttpResponseInit): c is FleetContext {
  return "settings" in c;
}

/**
 * `GET /api/fleet` (function-level auth): the fleet page as HTML, or with `?format=json` the same data as
 * `status --json`. Read-only, as the workflows' own identities (RBAC drift as RBAC_ADMIN_CLIENT_ID, when set);
 * audit record retries from the app's durable client.
 */
export async function fleetHttpHandler(request: HttpRequest, client?: Pick<DurableClient, "getStatusBy">): Promise<HttpResponseInit> {
  const format = request.query.get("format") ?? "html";
  if (format !== "html" && format !== "json") return withHeaders(badRequestResponse(`"format" must be "html" or "json"; got ${JSON.stringify(format.slice(0, 40))}. Fix: leave it off for the page, or use ?format=json.`));
  const now = new Date();
  const ctx = contextAt(now);
  if (!isContext(ctx)) return ctx;
  const status = await fleetStatus(client === undefined ? ctx : { ...ctx, auditRetries: () => listAuditRetries(client, now) });
  if (format === "json") return { status: 200, headers: COMMON_HEADERS, jsonBody: fleetStatusJson(status, ctx.settings) };
  return { status: 200, headers: { ...COMMON_HEADERS, "Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": FLEET_PAGE_CSP }, body: renderFleetHtml(status, ctx.settings) };
}

/** `GET /api/plan[?at=ISO]` (function-level auth): the dry run of rotation, retention and drills (`plan --json`). Changes nothing. */
export async function planHttpHandler(request: HttpRequest): Promise<HttpResponseInit> {
  const atText = request.query.get("at");
  const at = atText === null ? new Date() : new Date(atText);
  if (Number.isNaN(at.getTime())) return withHeaders(badRequestResponse(`"at" must be an ISO 8601 instant; got ${JSON.stringify(atText?.slice(0, 40) ?? "")}. Fix: e.g. ?at=2026-12-01T00:00:00Z, or leave it off for now.`));
  const ctx = contextAt(at);
  if (!isContext(ctx)) return ctx;
  return { status: 200, headers: COMMON_HEADERS, jsonBody: fleetPlanJson(await fleetPlan(ctx)) };
}

/**
 * `GET /api/audit-retries` (function-level auth): `{retries: [...]}`, the audit record retries of the last 30 days
 * (blob name, identity, durable status; never the record itself), which `status` lists under attention. Read-only.
 */
export async function auditRetriesHttpHandler(_request: HttpRequest, client: Pick<DurableClient, "getStatusBy">): Promise<HttpResponseInit> {
  const retries = await listAuditRetries(client, new Date());
  return { status: 200, headers: COMMON_HEADERS, jsonBody: { retries: retries.map(({ output, ...r }) => ({ ...r, ...(output === undefined ? {} : { output: outcomeOf(output) }) })) } };
}

/** The retry's ending without the record (kind, attempts, error). */
function outcomeOf(output: unknown): unknown {
  const o = output as { kind?: unknown; attempts?: unknown; error?: unknown } | null;
  return { kind: o?.kind, attempts: o?.attempts, ...(o?.error === undefined ? {} : { error: o.error }) };
}

function withHeaders(r: HttpResponseInit): HttpResponseInit {
  return { ...r, headers: COMMON_HEADERS };
}
