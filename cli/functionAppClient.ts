/**
 * The function app as the CLI drives it: only the app's own HTTP functions (`/api/…`, function-level auth) —
 * the starters (`POST /api/drills`, `/api/backups`, `/api/rotations`) and the run status (`GET /api/runs/{id}`).
 * Never the Durable extension's HTTP API or the admin API: those need the system key or the host master key,
 * which can start, terminate or purge any orchestration. Each call sends the key for ITS function
 * (`functionKeyFor`) in the `x-functions-key` header, never in a URL, so it cannot end up in a printed URL.
 */
import { connect } from "node:net";
import { triggerNames, type TriggerName } from "../shared/names";

/** A function app that accepts no connection within this is down (or the URL is wrong): fail fast, not after minutes. */
export const CONNECT_TIMEOUT_MS = 5_000;
/** The app's own endpoints answer at once (starters schedule and return 202); silence this long means it is stuck. */
export const ANSWER_TIMEOUT_MS = 60_000;

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
  /** `GET /api/runs/{id}` (runStatusHttp); undefined when no such run exists. */
  getStatus(instanceId: string): Promise<InstanceStatus | undefined>;
  /** A POST to an HTTP starter of the app (`/api/{route}`); returns the status code and the JSON body. */
  post(route: StarterRoute, body: unknown, extraHeaders?: Record<string, string>): Promise<{ status: number; body: unknown }>;
  /** Any of the app's own routes (`/api/…`) as function `fn`, with extra headers (a caller's bearer token). */
  send(fn: TriggerName, method: "GET" | "POST", path: string, body?: unknown, extraHeaders?: Record<string, string>): Promise<{ status: number; body: unknown }>;
}

/** The starters the CLI calls, and the function (hence the function key) behind each. */
export const starterFunctions = { drills: triggerNames.drillHttp, backups: triggerNames.backupHttp, rotations: triggerNames.rotationHttp, recoveries: triggerNames.recoveryHttp, disables: triggerNames.disableHttp } as const;
export type StarterRoute = keyof typeof starterFunctions;

/** The key to send to one function; undefined sends none (the local runner checks no keys). */
export type FunctionKeyFor = (functionName: TriggerName) => string | undefined;

/** One run a starter reports (`{id, statusPath, …}`). */
export interface StartedRun {
  id: string;
  statusPath?: string;
  action?: string;
  reason?: string;
  [field: string]: unknown;
}

const TERMINAL = new Set<RuntimeStatus>(["Completed", "Failed", "Terminated", "Canceled"]);

export function isTerminal(status: RuntimeStatus): boolean {
  return TERMINAL.has(status);
}

export function createFunctionAppClient(appUrl: string, functionKeyFor: FunctionKeyFor, timeouts: { connectMs?: number; answerMs?: number } = {}): FunctionAppClient {
  const connectMs = timeouts.connectMs ?? CONNECT_TIMEOUT_MS;
  const answerMs = timeouts.answerMs ?? ANSWER_TIMEOUT_MS;
  const base = appUrl.replace(/\/+$/, "");
  const headers = (fn: TriggerName): Record<string, string> => {
    const key = functionKeyFor(fn);
    return { "content-type": "application/json", accept: "application/json", ...(key === undefined ? {} : { "x-functions-key": key }) };
  };
  const unavailable = (why: string): Error =>
    new Error(`[Unavailable] The function app at ${base} did not answer (${why}). Fix: start it (locally "npm start", or "node dist/runner/main.js --app .") or pass --app-url.`);
  // fetch has no connect timeout (an address that drops packets hangs for minutes): probe the port once first.
  let reachable: Promise<void> | undefined;
  const call = async (fn: TriggerName, method: string, path: string, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<{ status: number; body: unknown }> => {
    await (reachable ??= probe(new URL(base), connectMs).catch((e: unknown) => {
      throw unavailable((e as Error).message);
    }));
    let res: Response;
    let text: string;
    try {
      const signal = AbortSignal.timeout(answerMs);
      res = await fetch(`${base}${path}`, { method, headers: { ...headers(fn), ...extraHeaders }, signal, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      text = await res.text();
    } catch (e) {
      if ((e as Error).name === "TimeoutError") throw unavailable(`no answer to ${method} ${path} within ${answerMs / 1000} s`);
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw unavailable(cause?.code ?? cause?.message ?? (e as Error).message);
    }
    let parsed: unknown = text;
    try {
      parsed = text === "" ? null : JSON.parse(text);
    } catch {
      // Not JSON: keep the text for the error message.
    }
    // Our own refusals (the caller's principal, not the function key) come as `{"error": {"code", "message": "[Code] …"}}`.
    const ours = typeof (parsed as { error?: { message?: unknown } } | null)?.error?.message === "string" && /^\[[A-Za-z]+\] /.test((parsed as { error: { message: string } }).error.message);
    if ((res.status === 401 || res.status === 403) && !ours) {
      throw new Error(`[Unauthorized] The function app at ${base} answered ${res.status} to ${method} ${path} (function ${fn}). Fix: set ${functionKeySetting(fn)} (or HSM_LIFECYCLE_FUNCTION_KEY) to a function key of ${fn} or an app key — never the master key.`);
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
    async getStatus(instanceId) {
      const r = await call(triggerNames.runStatusHttp, "GET", `/api/runs/${encodeURIComponent(instanceId)}`);
      if (r.status === 404) return undefined;
      if (r.status !== 200 && r.status !== 202) throw new Error(`[Unexpected] Reading the status of ${instanceId} failed: ${describe(r)}`);
      return r.body as InstanceStatus;
    },
    post: (route, body, extraHeaders) => call(starterFunctions[route], "POST", `/api/${route}`, body, extraHeaders),
    send: (fn, method, path, body, extraHeaders) => call(fn, method, path, body, extraHeaders),
  };
}

/** Resolves once a TCP connection to the URL's host and port opens; rejects with the reason, or after `timeoutMs`. */
function probe(url: URL, timeoutMs: number): Promise<void> {
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, "");
  return new Promise((resolvePromise, reject) => {
    const socket = connect({ host, port });
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(new Error(`no connection within ${timeoutMs / 1000} s`));
    });
    socket.once("connect", () => {
      socket.destroy();
      resolvePromise();
    });
    socket.once("error", (e: NodeJS.ErrnoException) => reject(new Error(e.code ?? e.message)));
  });
}

/** `HSM_LIFECYCLE_FUNCTION_KEY_<FUNCTION>` (e.g. `HSM_LIFECYCLE_FUNCTION_KEY_DRILLHTTP`): the key for one function. */
export function functionKeySetting(functionName: TriggerName): string {
  return `HSM_LIFECYCLE_FUNCTION_KEY_${functionName.toUpperCase()}`;
}

/**
 * Keys from the environment: the function's own `HSM_LIFECYCLE_FUNCTION_KEY_<FUNCTION>`, else
 * `HSM_LIFECYCLE_FUNCTION_KEY` (one app key for every function the CLI calls). Secrets: never printed.
 */
export function functionKeysFromEnv(env: NodeJS.ProcessEnv): FunctionKeyFor {
  const value = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === "" ? undefined : v;
  };
  return (fn) => value(functionKeySetting(fn)) ?? value("HSM_LIFECYCLE_FUNCTION_KEY");
}

/** The runs of a starter's 202 (`{runs: […]}` or a single `{id, …}`); throws naming the body otherwise. */
export function startedRunsOf(route: StarterRoute, answer: { status: number; body: unknown }): StartedRun[] {
  const b = answer.body as { runs?: unknown; id?: unknown; error?: { message?: string } } | null;
  if (answer.status !== 202 && answer.status !== 200) {
    if (answer.status === 404) throw new Error(`[NotFound] The function app has no POST /api/${route} (${starterFunctions[route]}). Fix: deploy the current app.`);
    throw new Error(`POST /api/${route} was refused (${answer.status}); nothing started: ${b?.error?.message ?? JSON.stringify(answer.body)}`);
  }
  const runs = Array.isArray(b?.runs) ? (b.runs as unknown[]) : [b];
  if (!runs.every((r) => typeof (r as { id?: unknown } | null)?.id === "string")) throw new Error(`[Unexpected] POST /api/${route} answered ${answer.status} without run ids: ${JSON.stringify(answer.body)}`);
  return runs as StartedRun[];
}
