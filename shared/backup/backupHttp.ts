import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { appSettings } from "../app/appSettings";
import { badRequestResponse, jsonObjectBody, runStamp, startedRunsResponse } from "../app/startedResponse";
import { orchestrationNames } from "../names";
import { nightlyBackupInputs, type BackupStarterClient } from "./nightlyBackup";
import { backupInstanceId } from "./runInput";

const RUNNING = new Set(["Running", "Pending", "ContinuedAsNew", "Suspended"]);

/**
 * `POST /api/backups` `{"hsm"?: NAME}` (function-level auth): a full verified backup of one or every primary HSM,
 * now, with the input the nightly timer builds from the settings (the caller names an HSM, never a URL).
 * Tonight's singleton id `backup:{hsm}:{night}` is used when tonight has no run yet (so the timer later skips
 * instead of backing up twice); a running one is followed instead of started; after a finished one a new run
 * gets `…:manual-{stamp}`. Answers 202 with each run's id and status path (`startedRunsResponse`: no keys).
 */
export async function backupHttpHandler(request: HttpRequest, client: BackupStarterClient, context: InvocationContext): Promise<HttpResponseInit> {
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
  const runs: Array<{ id: string; hsmName: string; action: "started" | "following" }> = [];
  for (const input of inputs) {
    const nightly = backupInstanceId(input.hsmName, input.night);
    const existing = await client.getStatus(nightly).catch((e: unknown) => {
      if (/\b404\b/.test((e as Error)?.message ?? "")) return undefined;
      throw e;
    });
    if (existing?.runtimeStatus !== undefined && RUNNING.has(existing.runtimeStatus)) {
      runs.push({ id: nightly, hsmName: input.hsmName, action: "following" });
      continue;
    }
    const id = existing === undefined || existing === null ? nightly : `${nightly}:manual-${runStamp(now)}`;
    await client.startNew(orchestrationNames.hsmBackup, { instanceId: id, input });
    context.log(`backupHttp: ${id} started (full backup of ${input.hsmName})`);
    runs.push({ id, hsmName: input.hsmName, action: "started" });
  }
  return startedRunsResponse(runs);
}
