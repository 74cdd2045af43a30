/**
 * The HTTP side of dual control (function-level auth plus the caller's own authentication, see callerPrincipal.ts):
 * starting a request (`POST /api/rotations` with `"now": true`, `POST /api/recoveries`, `POST /api/disables`),
 * listing requests (`GET /api/requests`) and deciding (`POST /api/requests/{id}/approve|reject`). The principal
 * always comes from the validated token or platform header, never from a body.
 */
import { randomBytes } from "node:crypto";
import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import type { DurableClient } from "durable-functions";
import { appSettings } from "../app/appSettings";
import { badRequestResponse, jsonObjectBody } from "../app/startedResponse";
import { rotationInstances, type InstanceSetting } from "../config/settings";
import { isLifecycleError } from "../errors/lifecycleError";
import { redactSecrets } from "../errors/redactSecrets";
import type { OperationRequestData } from "../events/lifecycleEventData";
import { instanceRef, resolveConfiguredInstance } from "../instances/resolveConfiguredInstance";
import { orchestrationNames } from "../names";
import { addDuration, parseIsoDuration } from "../rotation/isoDuration";
import { loadRotationConfig } from "../rotation/activities/loadConfig";
import type { RotationInstance } from "../rotation/activities/deps";
import { recordRequestStep, type RequestAuditDeps } from "./activities/recordRequestStep";
import { loadApprovalSettings, type ApprovalSettings, type OperationName } from "./approvalSettings";
import { authenticateCaller } from "./callerPrincipal";
import { decideApproval, type DecisionAction } from "./decideApproval";
import { listRequests, type RequestStatusReader } from "./listRequests";
import { isListed, type Principal } from "./principalList";
import type { RequestIndex } from "./requestIndex";
import { requestIndexFromSettings } from "./requestIndexFromSettings";
import { DECISION_EVENT, EMERGENCY_REASONS, type DecisionEventData, type OperationRequestInput } from "./requestTypes";
import { requestViewOf } from "./requestView";

const KEY_NAME = /^[0-9A-Za-z-]{1,127}$/;
const TICKET = /^[A-Za-z0-9][A-Za-z0-9._:#/-]{0,127}$/;
const REQUEST_ID = /^req-[0-9]{8}t[0-9]{6}z-[0-9a-f]{6}$/;

function error(status: number, code: string, message: string, extra: Record<string, unknown> = {}): HttpResponseInit {
  return { status, jsonBody: { error: { code, message: `[${code}] ${message}`, ...extra } } };
}

/** The caller, or the 401 answer naming why not. */
async function caller(request: HttpRequest, approvals: ApprovalSettings): Promise<Principal | HttpResponseInit> {
  try {
    return await authenticateCaller(request.headers, approvals, appSettings().emulatorMode);
  } catch (e) {
    if (isLifecycleError(e)) return error(401, "Unauthorized", e.message.replace(/^\[Unauthorized\] /, ""));
    throw e;
  }
}

/** The caller if listed in OPERATORS (who may request operations), or the 401/403 answer naming why not. */
async function operator(request: HttpRequest, approvals: ApprovalSettings): Promise<Principal | HttpResponseInit> {
  const principal = await caller(request, approvals);
  if (isResponse(principal) || isListed(principal, approvals.operators)) return principal;
  return error(403, "Forbidden", `${principal.oid} is not listed in OPERATORS and may not request operations. Fix: ask an administrator to add the object id or a group of it to OPERATORS.`, { reason: "notOperator" });
}

/** A planning step's refusal as the answer: 409 for the state of the key, 400/404 for the input, 502 otherwise. */
function refusal(e: unknown): HttpResponseInit {
  if (!isLifecycleError(e)) throw e;
  const status = e.code === "Conflict" ? 409 : e.code === "BadParameter" || e.code === "NoVerifiedBackup" ? 400 : e.code === "KeyNotFound" || e.code === "NotFound" ? 404 : 502;
  return error(status, e.code, e.message.replace(/^\[[A-Za-z]+\] /, ""));
}

/**
 * A request body that has only `fields` and names one of `configured` as "instance", or the 400 answer naming what
 * is wrong, with the route's usage.
 */
function requestBody<T extends Pick<InstanceSetting, "name" | "kind">>(body: Record<string, unknown> | undefined, fields: readonly string[], configured: readonly T[], usage: string): { body: Record<string, unknown>; instance: T } | HttpResponseInit {
  if (body === undefined) return badRequestResponse(`The body must be a JSON object. ${usage}`);
  const unknown = Object.keys(body).filter((k) => !fields.includes(k));
  if (unknown.length > 0) return badRequestResponse(`Unknown field(s) ${unknown.join(", ")}. ${usage}`);
  try {
    return { body, instance: resolveConfiguredInstance(body["instance"], configured, "instance") };
  } catch (e) {
    return badRequestResponse(`${(e as Error).message.replace(/^\[BadParameter\] /, "")} ${usage}`);
  }
}

function isResponse(v: object): v is HttpResponseInit {
  return (v as HttpResponseInit).status !== undefined;
}

/**
 * `POST /api/rotations` with `{"now": true, "instance", "key", "reason": "compromise|policy|other", "ticket"}`: an
 * emergency rotation request by the authenticated caller (listed in OPERATORS). Answers 202 with the request (its id
 * is the request orchestration's instance id); it runs once APPROVAL_POLICY's approvals are in.
 */
export async function emergencyRotationRequest(request: HttpRequest, body: Record<string, unknown>, client: RequestStarter, context: InvocationContext): Promise<HttpResponseInit> {
  const usage = 'Fix: POST {"now": true, "instance": "<HSMS/VAULTS name>", "key": "<key>", "reason": "compromise|policy|other", "ticket": "<change or incident id>"}.';
  const settings = appSettings();
  const checked = requestBody(body, ["now", "instance", "key", "reason", "ticket"], rotationInstances(settings), usage);
  if (isResponse(checked)) return checked;
  const { instance } = checked;
  const { key, reason, ticket } = body;
  if (typeof key !== "string" || !KEY_NAME.test(key)) return badRequestResponse(`"key" must be a key name. ${usage}`);
  if (typeof reason !== "string" || !(EMERGENCY_REASONS as readonly string[]).includes(reason)) return badRequestResponse(`"reason" must be one of ${EMERGENCY_REASONS.join(", ")}. ${usage}`);
  if (typeof ticket !== "string" || !TICKET.test(ticket)) return badRequestResponse(`"ticket" must be a ticket id (letters, digits, . _ : # / -; at most 128). ${usage}`);
  const approvals = loadApprovalSettings();
  const principal = await operator(request, approvals);
  if (isResponse(principal)) return principal;
  const { policy } = await loadRotationConfig(settings);
  return startRequest(client, context, approvals, { operation: "emergencyRotation", instance: instanceRef(instance), key, reason, ticket, requester: principal.oid, policy });
}

/**
 * `POST /api/recoveries` with `{"instance": "<primary HSM>", "key", "backup"?: "<folder>", "reason"?, "ticket"?}`: a
 * key recovery request by the authenticated caller (listed in OPERATORS). Checked first, reading only, as the
 * recovery identity (`plan`): a key that exists, an unknown instance or key, a folder that is not a verified backup
 * holding the key are refused here (400/409) and nothing is started. Answers 202 with the request; it runs once
 * APPROVAL_POLICY's `keyRecovery` approvals are in.
 */
export async function keyRecoveryRequest(
  request: HttpRequest,
  client: RequestStarter,
  context: InvocationContext,
  plan: (input: { instance: { name: string; kind: "managedHsm" }; key: string; backupFolder?: string }) => Promise<{ path: string }>,
): Promise<HttpResponseInit> {
  const usage = 'Fix: POST {"instance": "<primary HSM name>", "key": "<key>", "backup": "<backup folder, optional>", "reason": "<text, optional>", "ticket": "<change or incident id, optional>"}.';
  const checked = requestBody(await jsonObjectBody(request), ["instance", "key", "backup", "reason", "ticket"], appSettings().hsms.filter((h) => h.role === "primary"), usage);
  if (isResponse(checked)) return checked;
  const { body, instance } = checked;
  const { key, backup } = body;
  const reason = body["reason"] ?? "key recovery";
  const ticket = body["ticket"] ?? "none";
  if (typeof key !== "string" || !KEY_NAME.test(key)) return badRequestResponse(`"key" must be a key name (letters, digits, hyphens). ${usage}`);
  if (backup !== undefined && (typeof backup !== "string" || !/^[0-9A-Za-z][0-9A-Za-z._-]{0,199}$/.test(backup))) return badRequestResponse(`"backup" must be a backup folder name from a manifest. ${usage}`);
  if (typeof reason !== "string" || reason.trim() === "" || reason.length > 200) return badRequestResponse(`"reason" must be 1-200 characters. ${usage}`);
  if (typeof ticket !== "string" || !TICKET.test(ticket)) return badRequestResponse(`"ticket" must be a ticket id (letters, digits, . _ : # / -; at most 128). ${usage}`);
  const approvals = loadApprovalSettings();
  const principal = await operator(request, approvals);
  if (isResponse(principal)) return principal;
  const ref = { name: instance.name, kind: "managedHsm" as const };
  let path: string;
  try {
    path = (await plan({ instance: ref, key, ...(typeof backup === "string" ? { backupFolder: backup } : {}) })).path;
  } catch (e) {
    return refusal(e);
  }
  context.log(`requests: key recovery of ${instance.name}/${key} would ${path}`);
  return startRequest(client, context, approvals, { operation: "keyRecovery", instance: ref, key, reason: reason.trim(), ticket, requester: principal.oid, ...(typeof backup === "string" ? { backupFolder: backup } : {}) });
}

/**
 * `POST /api/disables` with `{"instance", "key", "version", "reason", "ticket"}`: an early disable request (one
 * superseded version of a key of a configured HSM or vault) by the authenticated caller (listed in OPERATORS).
 * Checked first, reading only (`plan`): an unknown instance, key or version, a version already disabled and the
 * key's current version are refused here (400/404/409) and nothing is started. Answers 202 with the request; it runs
 * once APPROVAL_POLICY's `earlyDisable` approvals are in.
 */
export async function earlyDisableRequest(request: HttpRequest, client: RequestStarter, context: InvocationContext, plan: (input: { instance: RotationInstance; key: string; version: string }) => Promise<unknown>): Promise<HttpResponseInit> {
  const usage = 'Fix: POST {"instance": "<HSMS/VAULTS name>", "key": "<key>", "version": "<superseded version>", "reason": "<text>", "ticket": "<change or incident id>"}.';
  const checked = requestBody(await jsonObjectBody(request), ["instance", "key", "version", "reason", "ticket"], rotationInstances(appSettings()), usage);
  if (isResponse(checked)) return checked;
  const { body, instance } = checked;
  const { key, version, reason, ticket } = body;
  if (typeof key !== "string" || !KEY_NAME.test(key)) return badRequestResponse(`"key" must be a key name (letters, digits, hyphens). ${usage}`);
  if (typeof version !== "string" || !/^[0-9A-Za-z]{1,64}$/.test(version)) return badRequestResponse(`"version" must be a key version (letters and digits). ${usage}`);
  if (typeof reason !== "string" || reason.trim() === "" || reason.length > 200) return badRequestResponse(`"reason" must be 1-200 characters. ${usage}`);
  if (typeof ticket !== "string" || !TICKET.test(ticket)) return badRequestResponse(`"ticket" must be a ticket id (letters, digits, . _ : # / -; at most 128). ${usage}`);
  const approvals = loadApprovalSettings();
  const principal = await operator(request, approvals);
  if (isResponse(principal)) return principal;
  const ref = instanceRef(instance);
  try {
    await plan({ instance: ref, key, version });
  } catch (e) {
    return refusal(e);
  }
  return startRequest(client, context, approvals, { operation: "earlyDisable", instance: ref, key, version, reason: reason.trim(), ticket, requester: principal.oid });
}

/** What starting a request needs of the durable client. */
export interface RequestStarter {
  startNew(orchestrationName: string, options: { instanceId: string; input: unknown }): Promise<string>;
}

async function startRequest(
  client: RequestStarter,
  context: InvocationContext,
  approvals: ApprovalSettings,
  spec: Pick<OperationRequestInput, "instance" | "key" | "reason" | "ticket" | "requester" | "policy" | "backupFolder" | "version"> & { operation: OperationName },
): Promise<HttpResponseInit> {
  const now = new Date();
  const id = `req-${now.toISOString().replace(/[-:]/g, "").replace(/\.\d+/, "").toLowerCase()}-${randomBytes(3).toString("hex")}`;
  const input: OperationRequestInput = {
    ...spec,
    request: id,
    required: approvals.policy[spec.operation],
    createdAt: now.toISOString(),
    expiresAt: addDuration(now, parseIsoDuration(approvals.window)).toISOString(),
    compromiseGrace: approvals.compromiseGrace,
  };
  // Indexed first, so no request exists that `requests` cannot list; an index that cannot be written starts nothing.
  try {
    await requestIndexFromSettings().opened(id, { operation: spec.operation, requester: spec.requester, createdAt: input.createdAt });
  } catch (e) {
    if (!isLifecycleError(e)) throw e;
    return error(503, e.code, `${e.message.replace(/^\[[A-Za-z]+\] /, "")} The request was not made; nothing started. Fix: make ROTATION_PACING_CONTAINER writable for the rotation identity, then request again.`);
  }
  await client.startNew(orchestrationNames.operationRequest, { instanceId: id, input });
  context.log(`requests: ${id} (${spec.operation} ${spec.instance.name}/${spec.key}) requested by ${spec.requester}`);
  return {
    status: 202,
    jsonBody: { request: id, status: "pending", operation: spec.operation, requester: spec.requester, approvers: [], required: input.required, instance: spec.instance.name, key: spec.key, ...(spec.version === undefined ? {} : { version: spec.version }), expiresAt: input.expiresAt, statusPath: `/api/runs/${encodeURIComponent(id)}` },
  };
}

/** `GET /api/requests`: pending requests whatever their age and finished ones of the last 30 days, newest first, from the request index. */
export async function listRequestsHandler(_request: HttpRequest, client: RequestStatusReader, index: RequestIndex = requestIndexFromSettings()): Promise<HttpResponseInit> {
  return { status: 200, jsonBody: await listRequests(index, client, new Date()) };
}

/**
 * `POST /api/requests/{id}/approve` and `/reject` (`{"reason": "…"}`, required to reject): the authenticated caller's
 * decision. Refused (403 own request / not an approver, 409 not pending) with the reason named, and recorded; a
 * repeated approval by the same approver is answered 200 and counts once; an accepted decision is raised to the
 * request (202), which applies the same rules again before it counts.
 */
export async function requestDecisionHandler(request: HttpRequest, client: DurableClient, context: InvocationContext, audit: () => RequestAuditDeps): Promise<HttpResponseInit> {
  const id = request.params["id"] ?? "";
  const action = request.params["action"] as DecisionAction;
  if (!REQUEST_ID.test(id)) return badRequestResponse("The request id must look like req-20261206t162200z-a1b2c3. Fix: use an id from `hsm-lifecycle requests`.");
  if (action !== "approve" && action !== "reject") return error(404, "NotFound", `No decision "${String(action)}"; use approve or reject.`);
  const body = await jsonObjectBody(request);
  if (body === undefined) return badRequestResponse('The body must be a JSON object ({} or {"reason": "…"}).');
  const reasonText = body["reason"];
  if (reasonText !== undefined && (typeof reasonText !== "string" || reasonText.trim() === "" || reasonText.length > 500)) return badRequestResponse('"reason" must be 1-500 characters.');
  if (action === "reject" && reasonText === undefined) return badRequestResponse('A rejection needs {"reason": "…"} (hsm-lifecycle reject ID --reason TEXT).');
  const approvals = loadApprovalSettings();
  const principal = await caller(request, approvals);
  if (isResponse(principal)) return principal;
  const view = requestViewOf((await client.getStatus(id, { showInput: true })) ?? undefined);
  if (view === undefined) return error(404, "NotFound", `No request ${id}. Fix: use an id from \`hsm-lifecycle requests\`.`);
  const verdict = decideApproval(view, principal, action, approvals.approvers);
  if (verdict.kind === "refused") {
    const data: OperationRequestData = {
      request: id,
      operation: view.operation,
      action: "refused",
      status: view.status,
      instance: view.instance,
      keyName: view.key,
      requester: view.requester,
      principal: principal.oid,
      approvers: view.approvers,
      required: view.required,
      reason: view.reason,
      ticket: view.ticket,
      message: `${action}: ${verdict.message}`,
      at: new Date().toISOString(),
    };
    const recorded = await recordRequestStep({ data, seq: `refused-${data.at.replace(/[-:.]/g, "")}-${principal.oid}` }, { ...audit(), starter: client, logError: (line) => context.error(redactSecrets(line)) });
    if (!recorded.audit.written) context.warn(`requests: refusal on ${id} not audited yet: ${recorded.audit.error}${recorded.audit.retry === undefined ? "" : ` (retry ${recorded.audit.retry.kind})`}`);
    return error(verdict.reason === "notPending" ? 409 : 403, verdict.reason === "notPending" ? "Conflict" : "Forbidden", `Refused: ${verdict.message}`, { reason: verdict.reason });
  }
  if (verdict.kind === "duplicate") {
    return { status: 200, jsonBody: { request: id, action, counted: false, message: `${principal.oid} has already approved ${id}; an approver counts once.`, approvals: view.approvers.length, required: view.required } };
  }
  // The request checks it again against APPROVERS as they are then (readApprovers): the same source as here.
  const decision: DecisionEventData = { principal, action, approvers: "current", at: new Date().toISOString(), ...(typeof reasonText === "string" ? { reason: reasonText.trim() } : {}) };
  await client.raiseEvent(id, DECISION_EVENT, decision);
  context.log(`requests: ${action} of ${id} by ${principal.oid} raised`);
  return { status: 202, jsonBody: { request: id, action, counted: true, approvals: view.approvers.length + (action === "approve" ? 1 : 0), required: view.required } };
}
