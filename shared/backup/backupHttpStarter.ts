import type { HttpRequest, HttpResponse, HttpResponseInit, InvocationContext } from "@azure/functions";
import type { DurableClient } from "durable-functions";
import { existingRun, runStamp, unusedRunId } from "../app/runIds";
import { runningConflict } from "../app/runningConflict";
import { exclusiveLockId, startExclusive } from "../app/startExclusive";
import { starterRequest } from "../app/starterRequest";
import type { Settings } from "../config/settings";
import { orchestrationNames } from "../names";
import { nightlyBackupInputs } from "./nightlyBackup";
import { backupInstanceId } from "./runInput";

/**
 * The body of `POST /api/backups`: `{ hsm? }`, a primary HSM's name; without it the only primary is meant.
 * Returns the problems instead of throwing, so the caller answers 400.
 */
export function parseBackupRequest(body: unknown, settings: Pick<Settings, "hsms">): { hsm: string } | { problems: string[] } {
  const primaries = settings.hsms.filter((h) => h.role === "primary").map((h) => h.name);
  const b = body === undefined || body === null ? {} : body;
  if (typeof b !== "object" || Array.isArray(b)) return { problems: ["the body must be a JSON object: { hsm? }"] };
  const { hsm, ...rest } = b as Record<string, unknown>;
  const problems = Object.keys(rest).map((k) => `unknown field "${k}" (allowed: hsm)`);
  if (hsm === undefined && primaries.length !== 1) problems.push(`"hsm" is required when HSMS holds ${primaries.length} primary HSMs (${primaries.join(", ") || "none"})`);
  if (hsm !== undefined && (typeof hsm !== "string" || !primaries.includes(hsm))) problems.push(`"hsm" must name a primary HSM (${primaries.join(", ") || "none configured"})`);
  if (problems.length > 0) return { problems };
  return { hsm: typeof hsm === "string" ? hsm : (primaries[0] as string) };
}

/**
 * `backupHttp`: `POST /api/backups` → 202 with the status URLs of the backup it started, 409 naming the
 * backup that holds the HSM (see runningConflict), 400 for a bad request. One backup per HSM at a time,
 * decided atomically by the HSM's lock (startExclusive). Tonight's first run takes the night's id
 * `backup:{hsm}:{night}` (so the timer later that night skips); once that exists a new run is
 * `backup:{hsm}:{night}:run-{stamp}`, never replacing a finished one.
 */
export async function backupHttpHandler(request: HttpRequest, client: DurableClient, context: InvocationContext): Promise<HttpResponseInit | HttpResponse> {
  const read = await starterRequest(request, badRequest);
  if ("answer" in read) return read.answer;
  const { settings, body } = read;
  const parsed = parseBackupRequest(body, settings);
  if ("problems" in parsed) return badRequest(parsed.problems);
  const now = new Date();
  // Start now: the timer's `scheduledFor` would make the run wait for the scheduled minute.
  const { scheduledFor: _scheduled, ...input } = nightlyBackupInputs(settings, now).find((i) => i.hsmName === parsed.hsm)!;
  const nightly = backupInstanceId(parsed.hsm, input.night);
  const tonight = await existingRun(client, nightly);
  if (tonight === "Running" || tonight === "Pending") {
    // Tonight's run started before this HSM had a lock (an upgrade in flight) still holds the HSM.
    return runningConflict("Backup", parsed.hsm, { instanceId: nightly, runtimeStatus: tonight }, "one HSM runs one backup at a time, so this request started nothing.");
  }
  const id = tonight === undefined ? nightly : await unusedRunId(client, `${nightly}:run-${runStamp(now)}`);
  const outcome = await startExclusive(client, exclusiveLockId("backup", parsed.hsm), { name: orchestrationNames.hsmBackup, instanceId: id, input });
  if (!outcome.started) {
    context.log(`backupHttp: ${id} not started: ${outcome.instanceId} holds ${parsed.hsm}.`);
    return runningConflict("Backup", parsed.hsm, outcome, "one HSM runs one backup at a time, so this request started nothing.");
  }
  context.log(`backupHttp: ${id} started.`);
  return client.createCheckStatusResponse(request, id);
}

function badRequest(problems: string[]): HttpResponseInit {
  return { status: 400, jsonBody: { error: { code: "BadParameter", message: `[BadParameter] The backup request is invalid: ${problems.join("; ")}. Fix: POST {"hsm":"<primary HSM name>"}.` } } };
}
