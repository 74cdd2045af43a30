import type { HttpResponseInit } from "@azure/functions";
import { runStatusPath } from "./startedResponse";

/**
 * `409 Conflict` for a request that found its singleton taken: the body names the run that holds it, its
 * status and its status path, so the caller (the CLI does) follows that run instead of failing. 409 and not
 * 202: this request started nothing, and a client must not take the run's outcome for one it asked for.
 */
export function runningConflict(what: "Drill" | "Backup", resource: string, running: { instanceId: string; runtimeStatus: string }, why: string): HttpResponseInit {
  const statusPath = runStatusPath(running.instanceId);
  return {
    status: 409,
    headers: { Location: statusPath },
    jsonBody: {
      error: {
        code: "Conflict",
        message: `[Conflict] ${what} ${running.instanceId} is still running on ${resource} (${running.runtimeStatus}); ${why} Fix: follow it at ${statusPath}, then start the next one.`,
        runningInstanceId: running.instanceId,
        runtimeStatus: running.runtimeStatus,
        statusPath,
      },
    },
  };
}
