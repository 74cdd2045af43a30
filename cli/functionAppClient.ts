/**
 * The function app as the CLI drives it: the Durable HTTP API (`/runtime/webhooks/durabletask/…`, which the
 * Functions host and the offline runner both serve) and the app's own HTTP starters (`/api/…`). The key, when
 * set, goes in the `x-functions-key` header, never in a URL, so it cannot end up in a printed status URL.
 */
export type RuntimeStatus = "Pending" | "Running" | "Completed" | "ContinuedAsNew" | "Failed" | "Terminated" | "Canceled" | "Suspended";

export interface InstanceStatus {
  name?: string;
  instanceId: string;
  runtimeStatus: RuntimeStatus;
  customStatus?: unknown;
  output?: unknown;
  createdTime?: string;
  lastUpdatedTime?: string;
}

export interface FunctionAppClient {
  appUrl: string;
  /** `POST /runtime/webhooks/durabletask/orchestrators/{name}/{instanceId}`. */
  startOrchestration(name: string, instanceId: string, input: unknown): Promise<void>;
  /** `GET …/instances/{id}`; undefined when no such instance exists. */
  getStatus(instanceId: string): Promise<InstanceStatus | undefined>;
  /** A POST to an HTTP starter of the app (`/api/{route}`); returns the status code and the JSON body. */
  post(route: string, body: unknown): Promise<{ status: number; body: unknown }>;
}

const TERMINAL = new Set<RuntimeStatus>(["Completed", "Failed", "Terminated", "Canceled"]);

export function isTerminal(status: RuntimeStatus): boolean {
  return TERMINAL.has(status);
}

export function createFunctionAppClient(appUrl: string, functionKey: string | undefined): FunctionAppClient {
  const base = appUrl.replace(/\/+$/, "");
  const headers = (): Record<string, string> => ({ "content-type": "application/json", accept: "application/json", ...(functionKey === undefined ? {} : { "x-functions-key": functionKey }) });
  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> => {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, { method, headers: headers(), ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new Error(
        `[Unavailable] The function app at ${base} did not answer (${cause?.code ?? cause?.message ?? (e as Error).message}). Fix: start it (locally "npm start", or "node dist/runner/main.js --app .") or pass --app-url.`,
      );
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text === "" ? null : JSON.parse(text);
    } catch {
      // Not JSON: keep the text for the error message.
    }
    if (res.status === 401 || res.status === 403) {
      throw new Error(`[Unauthorized] The function app at ${base} answered ${res.status} to ${method} ${path}. Fix: set HSM_LIFECYCLE_FUNCTION_KEY to the host master key (or a key the endpoint accepts).`);
    }
    return { status: res.status, body: parsed };
  };
  const describe = (r: { status: number; body: unknown }): string => {
    const b = r.body as { error?: { message?: string }; message?: string } | string | null;
    const msg = typeof b === "string" ? b : (b?.error?.message ?? b?.message ?? JSON.stringify(b));
    return `${r.status} ${String(msg).slice(0, 500)}`;
  };
  return {
    appUrl: base,
    async startOrchestration(name, instanceId, input) {
      const r = await call("POST", `/runtime/webhooks/durabletask/orchestrators/${encodeURIComponent(name)}/${encodeURIComponent(instanceId)}`, input);
      if (r.status === 202 || r.status === 200) return;
      if (r.status === 404) throw new Error(`[NotFound] The function app at ${base} has no orchestration "${name}" (${describe(r)}). Fix: deploy/build the current app (npm run build) and restart it.`);
      if (r.status === 409) throw new Error(`[Conflict] Instance ${instanceId} is already running. Fix: wait for it (its status is at /runtime/webhooks/durabletask/instances/${instanceId}).`);
      throw new Error(`[Unexpected] Starting ${name} as ${instanceId} failed: ${describe(r)}`);
    },
    async getStatus(instanceId) {
      const r = await call("GET", `/runtime/webhooks/durabletask/instances/${encodeURIComponent(instanceId)}?showInput=false`);
      if (r.status === 404) return undefined;
      if (r.status !== 200 && r.status !== 202) throw new Error(`[Unexpected] Reading the status of ${instanceId} failed: ${describe(r)}`);
      return r.body as InstanceStatus;
    },
    post: (route, body) => call("POST", `/api/${route.replace(/^\/+/, "")}`, body),
  };
}
