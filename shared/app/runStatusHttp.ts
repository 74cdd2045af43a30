import type { HttpRequest, HttpResponseInit } from "@azure/functions";
import type { DurableClient } from "durable-functions";

/**
 * `GET /api/runs/{id}` (function-level auth): what an operator or the CLI needs to follow a run — name,
 * runtime status, custom status (the stage), output and times. Never the input (it may name keys an operator
 * of another workflow should not see), the history, or durable's management URLs (they carry the system key).
 */
export async function runStatusHttpHandler(request: HttpRequest, client: DurableClient): Promise<HttpResponseInit> {
  const id = request.params["id"] ?? "";
  // Durable ids: at most 256 characters, no control characters (the route already excludes '/').
  if (id === "" || id.length > 256 || /[\u0000-\u001f\u007f]/.test(id)) {
    return { status: 400, jsonBody: { error: { code: "BadParameter", message: "[BadParameter] The run id must be 1-256 printable characters. Fix: use the id the starter returned." } } };
  }
  let status: Awaited<ReturnType<DurableClient["getStatus"]>>;
  try {
    status = await client.getStatus(id, { showInput: false, showHistory: false, showHistoryOutput: false });
  } catch (e) {
    if (/\b404\b/.test((e as Error)?.message ?? "")) return notFound(id);
    throw e;
  }
  if (status === undefined || status === null || status.instanceId === undefined || status.instanceId === "") return notFound(id);
  return {
    status: 200,
    jsonBody: {
      name: status.name,
      instanceId: status.instanceId,
      runtimeStatus: status.runtimeStatus,
      customStatus: status.customStatus ?? null,
      output: status.output ?? null,
      createdTime: status.createdTime,
      lastUpdatedTime: status.lastUpdatedTime,
    },
  };
}

function notFound(id: string): HttpResponseInit {
  return { status: 404, jsonBody: { error: { code: "NotFound", message: `[NotFound] No run with id ${JSON.stringify(id.slice(0, 256))}. Fix: use the id the starter returned.` } } };
}
