import type { HttpRequest, HttpResponse, HttpResponseInit, InvocationContext, Timer } from "@azure/functions";
import type { DurableClient, OrchestrationRuntimeStatus } from "durable-functions";
import { appSettings } from "../app/appSettings";
import { existingRun, runStamp, unusedRunId } from "../app/runIds";
import { runningConflict } from "../app/runningConflict";
import { exclusiveLockId, startExclusive, type ExclusiveStart } from "../app/startExclusive";
import { startedResponse } from "../app/startedResponse";
import { starterRequest } from "../app/starterRequest";
import type { Settings } from "../config/settings";
import type { ExclusiveRunInput } from "../durable/exclusiveRun";
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

/**
 * On-demand drills: one per pair, mode and millisecond. Never reused: the starter also steps past an id that
 * exists (a Completed drill started again would be REPLACED by durable, losing its status).
 */
export function httpDrillInstanceId(request: DrillRequest, at: Date): string {
  return `drill:${request.primary}:${request.target}:${request.mode}${request.keyName === undefined ? "" : `-${request.keyName}`}:${runStamp(at)}`;
}

const drillOrchestrations: ReadonlySet<string> = new Set([orchestrationNames.restoreDrill, orchestrationNames.selectiveRestoreDrill]);

/**
 * A drill on the DR HSM `target` still running outside the lock (one started before the lock existed, or
 * whose lock was terminated by hand), if any: two drills on one DR HSM would collide on its admin jobs (the
 * second self-backup adopts the first's, the second restore overwrites the first's keys).
 */
export async function runningDrillOn(client: DurableClient, target: string): Promise<{ instanceId: string; runtimeStatus: string } | undefined> {
  const active = ["Running", "Pending"] as unknown as OrchestrationRuntimeStatus[];
  const list = await client.getStatusBy({ runtimeStatus: active });
  const found = list.find((s) => typeof s.instanceId === "string" && s.instanceId.split(":")[2] === target && s.instanceId.startsWith("drill:") && drillOrchestrations.has(s.name));
  return found === undefined ? undefined : { instanceId: found.instanceId, runtimeStatus: String(found.runtimeStatus) };
}

/**
 * Starts the drill `run` under the DR HSM's lock, or names the drill that holds it (see startExclusive): one
 * drill per DR HSM at a time, decided atomically by the durable backend.
 */
export async function startDrillExclusive(client: DurableClient, target: string, run: ExclusiveRunInput): Promise<ExclusiveStart> {
  const outside = await runningDrillOn(client, target);
  if (outside !== undefined && outside.instanceId !== run.instanceId) return { started: false, ...outside };
  return startExclusive(client, exclusiveLockId("drill", target), run);
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
    // Today's drill ran or runs already: a re-fired or past-due timer never drills twice (nor replaces it).
    if ((await existingRun(client, id)) !== undefined) {
      context.log(`drillTimer: ${id} already started today.`);
      continue;
    }
    const outcome = await startDrillExclusive(client, p.target, { name, instanceId: id, input });
    if (outcome.started) context.log(`drillTimer: ${id} started${timer.isPastDue ? " (past due)" : ""}.`);
    else context.warn(`drillTimer: ${p.primary} → ${p.target} skipped: drill ${outcome.instanceId} is still running on that DR HSM (${outcome.runtimeStatus}).`);
  }
}

/** `drillHttp`: `POST /api/drills` → 202 with the drill id and its status path (no keys), 400 for a bad request. */
export async function drillHttpHandler(request: HttpRequest, client: DurableClient, context: InvocationContext): Promise<HttpResponseInit | HttpResponse> {
  const read = await starterRequest(request, badRequest);
  if ("answer" in read) return read.answer;
  const { settings, body } = read;
  const parsed = parseDrillRequest(body, settings);
  if ("problems" in parsed) return badRequest(parsed.problems);
  const { name, input } = drillStart(settings, parsed.request, "http");
  const id = await unusedRunId(client, httpDrillInstanceId(parsed.request, new Date()));
  const outcome = await startDrillExclusive(client, parsed.request.target, { name, instanceId: id, input });
  if (!outcome.started) {
    context.log(`drillHttp: ${id} not started: ${outcome.instanceId} holds ${parsed.request.target}.`);
    return runningConflict("Drill", parsed.request.target, outcome, "two drills on one DR HSM would collide on its admin jobs, so this request started nothing.");
  }
  context.log(`drillHttp: ${id} started.`);
  return startedResponse({ id });
}

function badRequest(problems: string[]): HttpResponseInit {
  return { status: 400, jsonBody: { error: { code: "BadParameter", message: `[BadParameter] The drill request is invalid: ${problems.join("; ")}. Fix: POST {"pair":"primary=dr","mode":"full"} or {"mode":"selective","keyName":"…"}.` } } };
}
