import type { HttpRequest, HttpResponse, HttpResponseInit, InvocationContext, Timer } from "@azure/functions";
import type { DurableClient, OrchestrationRuntimeStatus } from "durable-functions";
import { appSettings } from "../app/appSettings";
import { startedResponse } from "../app/startedResponse";
import type { Settings } from "../config/settings";
import { isLifecycleError, LifecycleError } from "../errors/lifecycleError";
import { orchestrationNames } from "../names";
import type { DrillKind, RestoreDrillInput } from "./types";

export interface DrillRequest {
  primary: string;
  target: string;
  mode: DrillKind;
  keyName?: string;
}

/**
 * The body of `POST /api/drills`: `{ pair?, mode?, keyName? }`. `pair` is `"primary=dr"` or
 * `{ primary, target }`; without it the only configured pair is used. `mode` defaults to `"full"`; a
 * `"selective"` drill needs `keyName`. Returns the problems instead of throwing, so the caller answers 400.
 */
export function parseDrillRequest(body: unknown, settings: Pick<Settings, "drillPairs">): { request: DrillRequest } | { problems: string[] } {
  const problems: string[] = [];
  const b = body === undefined || body === null ? {} : body;
  if (typeof b !== "object" || Array.isArray(b)) return { problems: ["the body must be a JSON object: { pair?, mode?, keyName? }"] };
  const { pair, mode, keyName, ...rest } = b as Record<string, unknown>;
  for (const k of Object.keys(rest)) problems.push(`unknown field "${k}" (allowed: pair, mode, keyName)`);
  const configured = settings.drillPairs.map((p) => `${p.primary}=${p.target}`);
  let primary: string | undefined;
  let target: string | undefined;
  if (pair === undefined) {
    const only = settings.drillPairs.length === 1 ? settings.drillPairs[0] : undefined;
    if (only === undefined) problems.push(`"pair" is required when DRILL_PAIRS does not hold exactly one pair (configured: ${configured.join(", ") || "none"})`);
    else [primary, target] = [only.primary, only.target];
  } else if (typeof pair === "string" && /^[^=\s]+=[^=\s]+$/.test(pair.trim())) {
    [primary, target] = pair.trim().split("=") as [string, string];
  } else if (typeof pair === "object" && pair !== null && typeof (pair as { primary?: unknown }).primary === "string" && typeof (pair as { target?: unknown }).target === "string") {
    primary = (pair as { primary: string }).primary;
    target = (pair as { target: string }).target;
  } else {
    problems.push(`"pair" must be "primary=target" or { "primary": …, "target": … }`);
  }
  if (primary !== undefined && target !== undefined && !configured.includes(`${primary}=${target}`)) {
    problems.push(`(${primary} → ${target}) is not a configured drill pair (DRILL_PAIRS: ${configured.join(", ") || "none"})`);
  }
  if (mode !== undefined && mode !== "full" && mode !== "selective") problems.push(`"mode" must be "full" or "selective"`);
  const kind: DrillKind = mode === "selective" ? "selective" : "full";
  if (keyName !== undefined && (typeof keyName !== "string" || !/^[0-9A-Za-z-]{1,127}$/.test(keyName))) problems.push(`"keyName" must be a key name (1-127 letters, digits and hyphens)`);
  if (kind === "selective" && keyName === undefined) problems.push(`a selective drill needs "keyName" (the key restored into DR)`);
  if (kind === "full" && keyName !== undefined) problems.push(`"keyName" is only for mode "selective"`);
  if (problems.length > 0 || primary === undefined || target === undefined) return { problems };
  const request: DrillRequest = { primary, target, mode: kind };
  if (typeof keyName === "string") request.keyName = keyName;
  return { request };
}

/** The orchestration and its input, from the settings (the orchestration itself never reads them). */
export function drillStart(settings: Pick<Settings, "objectives" | "pollerIntervalMs" | "adminJobTimeoutMs">, request: DrillRequest, trigger: RestoreDrillInput["trigger"]): { name: string; input: RestoreDrillInput } {
  const input: RestoreDrillInput = {
    primary: request.primary,
    target: request.target,
    objectives: { rtoMs: settings.objectives.rtoMs, rpoMs: settings.objectives.rpoMs },
    pollIntervalMs: settings.pollerIntervalMs,
    adminJobTimeoutMs: settings.adminJobTimeoutMs,
    trigger,
  };
  if (request.keyName !== undefined) input.keyName = request.keyName;
  return { name: request.mode === "selective" ? orchestrationNames.selectiveRestoreDrill : orchestrationNames.restoreDrill, input };
}

/** Timer drills: one per pair and UTC day, so a re-fired or past-due timer never drills twice. */
export function timerDrillInstanceId(primary: string, target: string, at: Date): string {
  return `drill:${primary}:${target}:${at.toISOString().slice(0, 10)}`;
}

/** On-demand drills: one per pair, mode and second (a double-click within the second is one drill). */
export function httpDrillInstanceId(request: DrillRequest, at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  return `drill:${request.primary}:${request.target}:${request.mode}${request.keyName === undefined ? "" : `-${request.keyName}`}:${stamp}`;
}

/**
 * Starts `instanceId` unless an instance with that id exists in ANY state: durable replaces a Completed
 * instance started again, so "already ran" has to be checked first. A start race lost to another starter
 * ("already exists") counts as existing.
 */
export async function startDrillOnce(client: DurableClient, name: string, instanceId: string, input: RestoreDrillInput): Promise<"started" | "exists"> {
  try {
    const status = await client.getStatus(instanceId);
    if (status?.runtimeStatus !== undefined) return "exists";
  } catch (e) {
    if (!/404/.test((e as Error).message)) throw e;
  }
  try {
    await client.startNew(name, { instanceId, input });
    return "started";
  } catch (e) {
    if (/already exists/i.test((e as Error).message)) return "exists";
    throw e;
  }
}

const drillOrchestrations: ReadonlySet<string> = new Set([orchestrationNames.restoreDrill, orchestrationNames.selectiveRestoreDrill]);

/**
 * The id of a drill of the same pair that is still running, if any: two drills on one DR HSM would collide on
 * its admin jobs (the second self-backup adopts the first's, the second restore overwrites the first's keys).
 */
export async function runningDrillOf(client: DurableClient, primary: string, target: string): Promise<string | undefined> {
  const active = ["Running", "Pending"] as unknown as OrchestrationRuntimeStatus[];
  const prefix = `drill:${primary}:${target}:`;
  const list = await client.getStatusBy({ runtimeStatus: active });
  return list.find((s) => typeof s.instanceId === "string" && s.instanceId.startsWith(prefix) && drillOrchestrations.has(s.name))?.instanceId;
}

/** `drillTimer`: a drill per configured pair (full restore), singleton per pair and day. */
export async function drillTimerHandler(timer: Timer, client: DurableClient, context: InvocationContext): Promise<void> {
  const settings = appSettings();
  const at = new Date();
  if (settings.drillPairs.length === 0) {
    context.log("drillTimer: DRILL_PAIRS is empty; no drill to run.");
    return;
  }
  for (const p of settings.drillPairs) {
    const { name, input } = drillStart(settings, { primary: p.primary, target: p.target, mode: "full" }, "timer");
    const id = timerDrillInstanceId(p.primary, p.target, at);
    const running = await runningDrillOf(client, p.primary, p.target);
    if (running !== undefined && running !== id) {
      context.warn(`drillTimer: ${p.primary} → ${p.target} skipped: drill ${running} is still running on that DR HSM.`);
      continue;
    }
    const result = await startDrillOnce(client, name, id, input);
    context.log(`drillTimer: ${id} ${result === "started" ? "started" : "already started today"}${timer.isPastDue ? " (past due)" : ""}.`);
  }
}

/** `drillHttp`: `POST /api/drills` → 202 with the drill id and its status path (no keys), 400 for a bad request. */
export async function drillHttpHandler(request: HttpRequest, client: DurableClient, context: InvocationContext): Promise<HttpResponseInit | HttpResponse> {
  let settings: Readonly<Settings>;
  try {
    settings = appSettings();
  } catch (e) {
    const message = isLifecycleError(e) ? e.message : `[SettingsInvalid] ${(e as Error).message}`;
    return { status: 500, jsonBody: { error: { code: "SettingsInvalid", message } } };
  }
  const text = await request.text();
  let body: unknown;
  try {
    body = text.trim() === "" ? undefined : JSON.parse(text);
  } catch {
    return badRequest(["the body is not JSON"]);
  }
  const parsed = parseDrillRequest(body, settings);
  if ("problems" in parsed) return badRequest(parsed.problems);
  const { name, input } = drillStart(settings, parsed.request, "http");
  const running = await runningDrillOf(client, parsed.request.primary, parsed.request.target);
  if (running !== undefined) {
    return { status: 409, jsonBody: { error: { code: "Conflict", message: `[Conflict] Drill ${running} is still running on ${parsed.request.target}; two drills on one DR HSM would collide. Fix: wait for it to finish (GET /api/runs/{id}), then start the next one.`, runningInstanceId: running } } };
  }
  const id = httpDrillInstanceId(parsed.request, new Date());
  const result = await startDrillOnce(client, name, id, input);
  context.log(`drillHttp: ${id} ${result}.`);
  if (result === "exists") {
    return { status: 409, jsonBody: { error: { code: "Conflict", message: new LifecycleError("Conflict", `Drill ${id} was already started. Fix: follow it with GET /api/runs/{id}, or retry in a second for a new drill.`).message } } };
  }
  return startedResponse({ id });
}

function badRequest(problems: string[]): HttpResponseInit {
  return { status: 400, jsonBody: { error: { code: "BadParameter", message: `[BadParameter] The drill request is invalid: ${problems.join("; ")}. Fix: POST {"pair":"primary=dr","mode":"full"} or {"mode":"selective","keyName":"…"}.` } } };
}
