import type { CliIo } from "./cliIo";
import { startedRunsOf, type FunctionAppClient, type StarterRoute } from "./functionAppClient";

/** A run the CLI follows: one its request started, or the one that already held the resource. */
export interface FollowedRun {
  id: string;
  started: boolean;
  hsmName?: string;
}

/**
 * POSTs to one of the app's singleton starters (`/api/backups`, `/api/drills`) and returns the runs to follow:
 * those it started (202, `following` entries included), or the run that already held the resource (409 naming
 * `runningInstanceId`), which is followed instead of failing. Any other answer throws with the app's message.
 */
export async function startOrFollow(app: FunctionAppClient, route: StarterRoute, body: unknown, what: string, io: CliIo): Promise<FollowedRun[]> {
  const answer = await app.post(route, body);
  const conflict = (answer.body as { error?: { runningInstanceId?: unknown; runtimeStatus?: unknown } } | null)?.error;
  if (answer.status === 409 && typeof conflict?.runningInstanceId === "string") {
    const running = conflict.runningInstanceId;
    io.err(`${running}: already ${typeof conflict.runtimeStatus === "string" ? conflict.runtimeStatus : "running"}; following it instead of starting a second ${what}`);
    return [{ id: running, started: false }];
  }
  return startedRunsOf(route, answer).map((r) => {
    const run: FollowedRun = { id: r.id, started: r.action !== "following" };
    if (typeof r["hsmName"] === "string") run.hsmName = r["hsmName"];
    if (!run.started) io.err(`${r.id}: already running; following it instead of starting a second ${what}${run.hsmName === undefined ? "" : ` of ${run.hsmName}`}`);
    return run;
  });
}
