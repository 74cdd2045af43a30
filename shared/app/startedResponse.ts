import type { HttpResponseInit } from "@azure/functions";

/** `/api/runs/{id}`: where a run's status is read, with the caller's own function key. */
export function runStatusPath(instanceId: string): string {
  return `/api/runs/${encodeURIComponent(instanceId)}`;
}

/**
 * The 202 of an HTTP starter: the run ids and their status paths, nothing else. Deliberately not durable's
 * `createCheckStatusResponse`, whose URLs carry the Durable extension's system key (`code=…`) in Azure: that key
 * starts, terminates and purges ANY orchestration, so handing it to whoever may start a drill or a backup would
 * turn a narrow permission into full control of the task hub.
 */
export function startedResponse(run: { id: string } & Record<string, unknown>): HttpResponseInit {
  const body = { ...run, statusPath: runStatusPath(run.id) };
  return { status: 202, headers: { Location: body.statusPath, "Retry-After": "5" }, jsonBody: body };
}

/** The 202 of a starter that may start several runs: `{runs: [{id, statusPath, …}]}` (see `startedResponse`). */
export function startedRunsResponse(runs: ReadonlyArray<{ id: string } & Record<string, unknown>>): HttpResponseInit {
  return { status: 202, headers: { "Retry-After": "5" }, jsonBody: { runs: runs.map((r) => ({ ...r, statusPath: runStatusPath(r.id) })) } };
}

/** `YYYYMMDDTHHMMSSZ`: a compact UTC stamp for ids of runs started on request (durable ids allow no '/'). */
export function runStamp(at: Date): string {
  return at.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}

/** A 400 `{error: {code: "BadParameter", message}}`. */
export function badRequestResponse(message: string): HttpResponseInit {
  return { status: 400, jsonBody: { error: { code: "BadParameter", message: `[BadParameter] ${message}` } } };
}

/** Reads a JSON object body; `{}` for an empty body; undefined when it is not a JSON object. */
export async function jsonObjectBody(request: { text(): Promise<string> }): Promise<Record<string, unknown> | undefined> {
  const text = await request.text();
  if (text.trim() === "") return {};
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
