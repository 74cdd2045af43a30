import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { appSettings } from "../../app/appSettings";
import { runStamp } from "../../app/runIds";
import { badRequestResponse, jsonObjectBody, startedRunsResponse } from "../../app/startedResponse";
import { rotationInstances } from "../../config/settings";
import { isLifecycleError } from "../../errors/lifecycleError";
import { instanceRef, resolveConfiguredInstance } from "../../instances/resolveConfiguredInstance";
import { orchestrationNames } from "../../names";
import { loadRotationConfig } from "./loadConfig";
import { isAlreadyStarted, readInstanceStatus, type RotationStarterClient } from "./durableStatus";
import { rotationStartDecision } from "../dedupe";
import { rotationInstanceId } from "../rotationIds";
import { emergencyRotationRequest } from "../../approvals/requestHttp";
import type { RotateKeyInput, RotationSweepInput } from "../types";

const keyName = /^[0-9A-Za-z-]{1,127}$/;
const keyVersion = /^[0-9A-Za-z]{1,64}$/;

/**
 * `POST /api/rotations` (function-level auth). `{}`: a manual `rotationSweep` (its own id, so it never blocks the
 * daily one). `{"keys": [{"instance", "name", "version"}]}`: one `rotateKey` per named key version, under its
 * deterministic id `rotate:{vault}:{key}:{version}` (a version that already rotated is reported, not started
 * again). The caller names instances (configured rotation instances only) and keys, never URLs or rules: each
 * rotation decides with the rotation policy read here, so a request cannot rotate a key the policy would not.
 * Answers 202 with each run's id and status path (`startedRunsResponse`: no keys). `{"now": true, …}` is an
 * emergency rotation request (shared/approvals/requestHttp.ts).
 */
export async function rotationHttpHandler(request: HttpRequest, client: RotationStarterClient, context: InvocationContext): Promise<HttpResponseInit> {
  const body = await jsonObjectBody(request);
  const usage = 'Fix: POST {} for a sweep, or {"keys": [{"instance": "<HSMS/VAULTS name>", "name": "<key>", "version": "<current version>"}]}.';
  if (body === undefined) return badRequestResponse(`The body must be a JSON object. ${usage}`);
  // `"now": true`: an emergency rotation, regardless of the policy, after the approvals APPROVAL_POLICY asks for.
  if (body["now"] === true) return emergencyRotationRequest(request, body, client, context);
  const settings = appSettings();
  const now = new Date();
  const runId = `manual:${runStamp(now)}`;
  if (body["keys"] === undefined) {
    if (Object.keys(body).length > 0) return badRequestResponse(`Unknown field(s) ${Object.keys(body).join(", ")}. ${usage}`);
    const id = `sweep:manual:${runStamp(now)}`;
    const input: RotationSweepInput = { trigger: "manual" };
    await client.startNew(orchestrationNames.rotationSweep, { instanceId: id, input });
    context.log(`rotationHttp: ${id} started`);
    return startedRunsResponse([{ id, kind: "sweep", action: "started" }]);
  }
  const keys = body["keys"];
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > 200) return badRequestResponse(`"keys" must be a list of 1-200 key versions. ${usage}`);
  const configured = rotationInstances(settings);
  const requested: Array<{ instance: (typeof configured)[number]; name: string; version: string }> = [];
  const problems: string[] = [];
  keys.forEach((k: unknown, i) => {
    const entry = typeof k === "object" && k !== null ? (k as Record<string, unknown>) : {};
    try {
      const instance = resolveConfiguredInstance(entry["instance"], configured, `keys[${i}].instance`);
      const { name, version } = entry;
      if (typeof name !== "string" || !keyName.test(name) || typeof version !== "string" || !keyVersion.test(version)) throw new Error(`keys[${i}] needs "name" (a key name) and "version" (its current version id).`);
      requested.push({ instance, name, version });
    } catch (e) {
      problems.push(isLifecycleError(e) ? e.message.replace(/^\[BadParameter\] /, "") : (e as Error).message);
    }
  });
  if (problems.length > 0) return badRequestResponse(`${problems.join(" ")} ${usage}`);
  const { policy } = await loadRotationConfig(settings);
  const runs: Array<{ id: string; instance: string; key: string; runId: string; action: "started" | "existing"; reason?: string }> = [];
  for (const r of requested) {
    const id = rotationInstanceId({ vaultUrl: r.instance.url, name: r.name, version: r.version });
    const decision = rotationStartDecision(await readInstanceStatus(client, id));
    if (!decision.start) {
      runs.push({ id, instance: r.instance.name, key: r.name, runId, action: "existing", reason: decision.reason });
      continue;
    }
    const input: RotateKeyInput = { instance: instanceRef(r.instance), name: r.name, version: r.version, trigger: "manual", runId, policy };
    try {
      await client.startNew(orchestrationNames.rotateKey, { instanceId: id, input });
    } catch (e) {
      if (!isAlreadyStarted(e)) throw e;
      runs.push({ id, instance: r.instance.name, key: r.name, runId, action: "existing", reason: "started concurrently" });
      continue;
    }
    context.log(`rotationHttp: ${id} started`);
    runs.push({ id, instance: r.instance.name, key: r.name, runId, action: "started" });
  }
  return startedRunsResponse(runs);
}
