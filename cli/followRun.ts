import type { CliIo } from "./cliIo";
import type { FunctionAppClient } from "./functionAppClient";

/**
 * POSTs to one of the app's singleton starters (`/api/backups`, `/api/drills`) and returns the instance to
 * follow: the run it started (202), or the run that already held the resource (409 naming
 * `runningInstanceId`), which is followed instead of failing. Any other answer throws with the app's message.
 */
export async function startOrFollow(app: FunctionAppClient, route: string, body: unknown, what: string, io: CliIo): Promise<{ instanceId: string; started: boolean }> {
  const answer = await app.post(route, body);
  const payload = answer.body as { id?: unknown; error?: { message?: string; runningInstanceId?: unknown; runtimeStatus?: unknown } } | null;
  if (answer.status === 409 && typeof payload?.error?.runningInstanceId === "string") {
    const running = payload.error.runningInstanceId;
    io.err(`${running}: already ${typeof payload.error.runtimeStatus === "string" ? payload.error.runtimeStatus : "running"}; following it instead of starting a second ${what}`);
    return { instanceId: running, started: false };
  }
  if (answer.status !== 202 && answer.status !== 200) {
    const message = payload?.error?.message ?? JSON.stringify(answer.body);
    if (answer.status === 404) throw new Error(`[NotFound] The function app at ${app.appUrl} has no POST /api/${route}. Fix: deploy the current app.`);
    throw new Error(`The ${what} was not started (${answer.status}): ${message}`);
  }
  if (typeof payload?.id !== "string") throw new Error(`[Unexpected] POST /api/${route} answered ${answer.status} without an instance id: ${JSON.stringify(answer.body)}`);
  return { instanceId: payload.id, started: true };
}
