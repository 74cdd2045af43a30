/**
 * Dual control from the CLI: `rotate --now` (an emergency rotation request), `recover` (a key recovery request),
 * `disable` (an early disable request), `requests`, `approve ID`, `reject ID`.
 * Exit codes: 0 done, 1 failed or refused (the reason named), 3 waiting for approvals (the request id on stdout).
 */
import type { RequestView } from "../shared/approvals/requestTypes";
import { triggerNames } from "../shared/names";
import { callerHeaders } from "./callerHeaders";
import type { CliArgs } from "./cliArgs";
import type { CliContext } from "./cliContext";
import type { CliIo } from "./cliIo";
import { createFunctionAppClient, type FunctionAppClient } from "./functionAppClient";

/** Exit code of a command that started a request which now waits for approvals. */
export const EXIT_PENDING = 3;

const FINAL = new Set(["completed", "failed", "rejected", "expired"]);

function errorOf(body: unknown, status: number): string {
  const e = (body as { error?: { message?: string } } | null)?.error;
  return typeof e?.message === "string" ? e.message : `[Unexpected] The function app answered ${status}: ${JSON.stringify(body).slice(0, 300)}`;
}

export async function emergencyRotateCommand(ctx: CliContext, args: CliArgs, io: CliIo): Promise<number> {
  return requestCommand(ctx, args, io, "rotations", { now: true, instance: args.instance, key: args.key, reason: args.reason, ticket: args.ticket }, "rotating");
}

/** `recover --instance I --key K [--backup FOLDER]`: a key recovery request (exit 3 while it waits for approvals). */
export async function recoverCommand(ctx: CliContext, args: CliArgs, io: CliIo): Promise<number> {
  const body = { instance: args.instance, key: args.key, ...(args.backupFolder === undefined ? {} : { backup: args.backupFolder }), ...(args.reason === undefined ? {} : { reason: args.reason }), ...(args.ticket === undefined ? {} : { ticket: args.ticket }) };
  return requestCommand(ctx, args, io, "recoveries", body, "recovering");
}

/** `disable --instance I --key K --version V --reason TEXT --ticket ID`: an early disable request (exit 3 while it waits). */
export async function disableCommand(ctx: CliContext, args: CliArgs, io: CliIo): Promise<number> {
  return requestCommand(ctx, args, io, "disables", { instance: args.instance, key: args.key, version: args.keyVersion, reason: args.reason, ticket: args.ticket }, "disabling");
}

async function requestCommand(ctx: CliContext, args: CliArgs, io: CliIo, route: "rotations" | "recoveries" | "disables", body: Record<string, unknown>, doing: string): Promise<number> {
  const headers = await callerHeaders(ctx, args);
  const app = createFunctionAppClient(args.appUrl, ctx.functionKeyFor);
  const r = await app.post(route, body, headers);
  if (r.status !== 202) throw new Error(errorOf(r.body, r.status));
  const started = r.body as { request: string; status: string; required: number };
  if (started.required > 0) {
    if (args.json) io.out(JSON.stringify(r.body, null, 2));
    else io.out(`${started.request}: pending; needs ${started.required} approval(s) from APPROVERS (not you): hsm-lifecycle approve ${started.request}`);
    return EXIT_PENDING;
  }
  io.err(`${started.request}: no approval needed (APPROVAL_POLICY); ${doing}`);
  const view = await waitForRequest(app, started.request, args.timeoutMs);
  io.out(args.json ? JSON.stringify(view, null, 2) : describe(view));
  return view.status === "completed" ? 0 : 1;
}

async function waitForRequest(app: FunctionAppClient, id: string, timeoutMs: number): Promise<RequestView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await app.getStatus(id);
    const view = status?.customStatus as RequestView | undefined;
    if (view !== undefined && view !== null && FINAL.has(view.status)) return view;
    if (Date.now() > deadline) throw new Error(`[Timeout] ${id} did not finish within ${timeoutMs / 1000} s; it goes on. Fix: follow it with "hsm-lifecycle requests".`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function describe(v: RequestView): string {
  const result = v.result === undefined ? "" : ` ${JSON.stringify(v.result)}`;
  return `${v.request} ${v.operation} ${v.instance}/${v.key}${v.version === undefined ? "" : `/${v.version}`}: ${v.status} (requester ${v.requester}; approvals ${v.approvers.length}/${v.required}${v.approvers.length > 0 ? `: ${v.approvers.join(", ")}` : ""}; ${v.reason}, ticket ${v.ticket})${v.message === undefined ? "" : ` ${v.message}`}${result}`;
}

export async function requestsCommand(ctx: CliContext, args: CliArgs, io: CliIo): Promise<number> {
  const app = createFunctionAppClient(args.appUrl, ctx.functionKeyFor);
  const r = await app.send(triggerNames.requestsHttp, "GET", "/api/requests");
  if (r.status !== 200 || !Array.isArray(r.body)) throw new Error(errorOf(r.body, r.status));
  const views = r.body as RequestView[];
  if (args.json) io.out(JSON.stringify(views, null, 2));
  else io.out(views.length === 0 ? "No requests in the last 30 days." : views.map(describe).join("\n"));
  return 0;
}

export async function decideCommand(ctx: CliContext, args: CliArgs, io: CliIo): Promise<number> {
  const action = args.command === "reject" ? "reject" : "approve";
  const id = args.requestId ?? "";
  const headers = await callerHeaders(ctx, args);
  const app = createFunctionAppClient(args.appUrl, ctx.functionKeyFor);
  const r = await app.send(triggerNames.requestDecisionHttp, "POST", `/api/requests/${encodeURIComponent(id)}/${action}`, args.reason === undefined ? {} : { reason: args.reason }, headers);
  if (r.status !== 200 && r.status !== 202) {
    io.err(`hsm-lifecycle ${action}: ${errorOf(r.body, r.status)}`);
    if (args.json) io.out(JSON.stringify(r.body, null, 2));
    return 1;
  }
  const b = r.body as { counted: boolean; approvals: number; required: number; message?: string };
  if (args.json) io.out(JSON.stringify(r.body, null, 2));
  else if (action === "reject") io.out(`${id}: rejected`);
  else io.out(b.counted ? `${id}: approval counted (${b.approvals} of ${b.required})` : `${id}: ${b.message ?? "already approved"}`);
  return 0;
}
