import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { appSettings } from "../app/appSettings";
import { existingRun, runStamp, unusedRunId } from "../app/runIds";
import { runningConflict } from "../app/runningConflict";
import { exclusiveLockId, startExclusive, type ExclusiveStartClient } from "../app/startExclusive";
import { badRequestResponse, jsonObjectBody, startedRunsResponse } from "../app/startedResponse";
import { orchestrationNames } from "../names";
import { nightlyBackupInputs } from "./nightlyBackup";
import { backupInstanceId } from "./runInput";

const WHY = "one HSM runs one backup at a time, so this request started nothing.";

/**
 * `POST /api/backups` `{"hsm"?: NAME}` (function-level auth): a full verified backup of one or every primary HSM,
 * now, with the input the nightly timer builds from the settings (the caller names an HSM, never a URL).
 * One backup per HSM at a time, decided atomically by the HSM's lock (`startExclusive`). Tonight's first run
 * takes the night's id `backup:{hsm}:{night}` (so the timer later skips instead of backing up twice); once that
 * exists a new run is `…:run-{stamp}` (milliseconds, then `-2`, `-3`: never replacing a finished run).
 * Answers 202 with each run's id and status path (`startedRunsResponse`: no keys); an HSM already held is listed
 * as `following` the run that holds it. A request for one HSM that started nothing answers 409 naming the run
 * that holds it (`runningConflict`), which the CLI follows.
 */
export async function backupHttpHandler(request: HttpRequest, client: ExclusiveStartClient, context: InvocationContext): Promise<HttpResponseInit> {
  const body = await jsonObjectBody(request);
  if (body === undefined) return badRequestResponse('The body must be a JSON object. Fix: POST {} (every primary HSM) or {"hsm": "<name>"}.');
  const settings = appSettings();
  const primaries = settings.hsms.filter((h) => h.role === "primary").map((h) => h.name);
  const hsm = body["hsm"];
  const unknownKeys = Object.keys(body).filter((k) => k !== "hsm");
  if (unknownKeys.length > 0 || (hsm !== undefined && (typeof hsm !== "string" || !primaries.includes(hsm)))) {
    return badRequestResponse(`${unknownKeys.length > 0 ? `Unknown field(s) ${unknownKeys.join(", ")}` : `"hsm" is not a primary HSM`}. Fix: POST {} or {"hsm": NAME} with NAME one of ${primaries.join(", ") || "(none configured)"}.`);
  }
  const now = new Date();
  const inputs = nightlyBackupInputs(settings, now)
    .filter((i) => hsm === undefined || i.hsmName === hsm)
    // Start now: the timer's `scheduledFor` would make the run wait for the scheduled minute.
    .map(({ scheduledFor: _scheduled, ...rest }) => rest);
  const runs: Array<{ id: string; hsmName: string; action: "started" | "following"; runtimeStatus?: string }> = [];
  for (const input of inputs) {
    const nightly = backupInstanceId(input.hsmName, input.night);
    const tonight = await existingRun(client, nightly);
    if (tonight === "Running" || tonight === "Pending") {
      // Tonight's run started before this HSM had a lock (an upgrade in flight) still holds the HSM.
      runs.push({ id: nightly, hsmName: input.hsmName, action: "following", runtimeStatus: tonight });
      continue;
    }
    const id = tonight === undefined ? nightly : await unusedRunId(client, `${nightly}:run-${runStamp(now)}`);
    const outcome = await startExclusive(client, exclusiveLockId("backup", input.hsmName), { name: orchestrationNames.hsmBackup, instanceId: id, input });
    if (!outcome.started) {
      context.log(`backupHttp: ${id} not started: ${outcome.instanceId} holds ${input.hsmName}.`);
      runs.push({ id: outcome.instanceId, hsmName: input.hsmName, action: "following", runtimeStatus: outcome.runtimeStatus });
      continue;
    }
    context.log(`backupHttp: ${id} started (full backup of ${input.hsmName})`);
    runs.push({ id, hsmName: input.hsmName, action: "started" });
  }
  const [only] = runs;
  if (runs.length === 1 && only !== undefined && only.action === "following") {
    return runningConflict("Backup", only.hsmName, { instanceId: only.id, runtimeStatus: only.runtimeStatus ?? "Running" }, WHY);
  }
  return startedRunsResponse(runs);
}
