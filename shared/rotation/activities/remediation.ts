import { randomUUID } from "node:crypto";
import type { ContainerClient } from "@azure/storage-blob";
import { rotationInstances, type Settings } from "../../config/settings";
import type { KeyClients } from "../../hsm/keyClients";
import { auditHandOff, tryWriteAuditRecord } from "../../storage/tryWriteAuditRecord";
import { parseIncomingEvents, type KeyEvent } from "../../events/incomingEvent";
import { KeyVaultEventType } from "../../events/lifecycleEventTypes";
import { orchestrationNames } from "../../names";
import { recordInstanceId, rotationStartDecision } from "../dedupe";
import type { RecordKeyVersionInput, RotateKeyInput } from "../types";
import type { RotationPolicy } from "../policyTypes";
import { normaliseVaultHost, rotationInstanceId } from "../rotationIds";
import { instanceRef } from "../../instances/resolveConfiguredInstance";
import type { ConfiguredRotationInstance } from "./deps";
import { isAlreadyStarted, readInstanceStatus, type RotationStarterClient } from "./durableStatus";

export interface RemediationDeps {
  settings: Pick<Settings, "hsms" | "vaults" | "eventSources">;
  /** The validated rotation policy (read per event batch, so a policy edit applies at once). */
  loadPolicy: () => Promise<RotationPolicy>;
  client: RotationStarterClient;
  log: (line: string) => void;
  /** Key clients of the rotation identity: an event's version must exist before anything starts for it. */
  keyClients: KeyClients;
  /** `AUDIT_CONTAINER`: rejected events are recorded there too (best effort; absent: logged only). */
  auditContainer?: ContainerClient;
  now?: () => Date;
}

export type RemediationOutcome =
  | { kind: "rejected"; eventId?: string; reason: string }
  | { kind: "started"; eventId: string; orchestration: string; instanceId: string; replaces?: string }
  | { kind: "duplicate"; eventId: string; instanceId: string; reason: string };

const acceptedTypes = [KeyVaultEventType.KeyNearExpiry, KeyVaultEventType.KeyExpired, KeyVaultEventType.KeyNewVersionCreated];

/**
 * The Event Grid remediation path. Each event is validated (`parseIncomingEvents`: schema, configured source,
 * type, internal consistency, key host of a configured vault/HSM); anything else is rejected with a logged
 * reason and starts nothing. KeyNearExpiry / KeyExpired start `rotateKey` under `rotate:{vault}:{key}:{version}`
 * — the id the sweep uses too — after checking durable's status for it, so duplicates, redeliveries and the
 * sweep never rotate a key version twice. The orchestration decides with the policy (KeyExpired is always
 * due, so it rotates at once). KeyNewVersionCreated starts `recordKeyVersion`: recorded and verified, never
 * rotated.
 */
export async function handleKeyEvents(body: unknown, deps: RemediationDeps): Promise<RemediationOutcome[]> {
  const instances = rotationInstances(deps.settings as Settings);
  const byHost = new Map(instances.map((i) => [normaliseVaultHost(i.url), { name: i.name, kind: i.kind, url: i.url } satisfies ConfiguredRotationInstance]));
  const results = await parseIncomingEvents(
    body,
    {
      allowedSources: deps.settings.eventSources,
      allowedTypes: acceptedTypes,
      allowedKeyHosts: instances.map((i) => new URL(i.url).host),
      instances: instances.map((i) => ({ name: i.name, kind: i.kind, host: new URL(i.url).host })),
    },
    deps.log,
  );
  const outcomes: RemediationOutcome[] = [];
  let policy: RotationPolicy | undefined;
  for (const r of results) {
    if (r.kind === "rejected") {
      outcomes.push(r.eventId === undefined ? { kind: "rejected", reason: r.reason } : { kind: "rejected", eventId: r.eventId, reason: r.reason });
      continue;
    }
    const event = r.event;
    const instance = byHost.get(normaliseVaultHost(event.keyId));
    if (instance === undefined) {
      const reason = `key ${event.keyId} belongs to no configured primary HSM or vault (drill targets are never rotated)`;
      deps.log(`event ${event.id} rejected, no action taken: ${reason}`);
      outcomes.push({ kind: "rejected", eventId: event.id, reason });
      continue;
    }
    if (event.type !== KeyVaultEventType.KeyNewVersionCreated) policy ??= await deps.loadPolicy();
    outcomes.push(await start(event, instance, policy, deps));
  }
  await auditRejections(outcomes, deps);
  return outcomes;
}

/**
 * Whether the event's key version exists, read as the rotation identity (one GET). A forged but well-formed event
 * for a version that does not exist must start nothing; any other failure throws, so Event Grid redelivers later.
 */
async function versionExists(event: KeyEvent, instance: ConfiguredRotationInstance, deps: RemediationDeps): Promise<boolean> {
  try {
    await deps.keyClients.keys(instance.url).getKey(event.keyName, { version: event.version });
    return true;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return false;
    throw e;
  }
}

const MAX_AUDITED_REJECTIONS = 100;

/** One write-once audit record per delivery that rejected events: what was refused and why. Never throws. */
async function auditRejections(outcomes: readonly RemediationOutcome[], deps: RemediationDeps): Promise<void> {
  const rejected = outcomes.filter((o): o is Extract<RemediationOutcome, { kind: "rejected" }> => o.kind === "rejected");
  if (rejected.length === 0 || deps.auditContainer === undefined) return;
  const recordedAt = (deps.now?.() ?? new Date()).toISOString();
  // Under `rotation/`: the rotation identity's append-only grant on the audit container allows that prefix only.
  const blob = `rotation/events/rejected/${recordedAt.slice(0, 10)}/${recordedAt.replace(/[:.]/g, "")}-${randomUUID()}.json`;
  const record = {
    schema: "hsm-lifecycle/audit/rejected-events",
    schemaVersion: 1,
    // The row's Workflow stays "events" (what the record is about), whatever folder the writer's grant puts it in.
    workflow: "events",
    recordedAt,
    rejected: rejected.length,
    events: rejected.slice(0, MAX_AUDITED_REJECTIONS).map((o) => ({ eventId: o.eventId?.slice(0, 200) ?? null, reason: o.reason.slice(0, 500) })),
  };
  // The delivery must still succeed (a redelivery would be rejected again): a failed write is logged and handed to
  // `auditRecordRetry`, as the rotation identity, so an outage does not lose the record of what was refused.
  const handOff = auditHandOff("rotation", { starter: deps.client, logError: deps.log, ...(deps.now === undefined ? {} : { now: deps.now }) });
  const outcome = await tryWriteAuditRecord(deps.auditContainer, blob, record, handOff);
  if (!outcome.written) deps.log(`rejected events not audited yet: ${outcome.error}${outcome.retry === undefined ? "" : `; retry ${outcome.retry.kind}${"instanceId" in outcome.retry ? ` (${outcome.retry.instanceId})` : ""}`}`);
}

async function start(event: KeyEvent, instance: ConfiguredRotationInstance, policy: RotationPolicy | undefined, deps: RemediationDeps): Promise<RemediationOutcome> {
  const rotateId = rotationInstanceId({ vaultUrl: instance.url, name: event.keyName, version: event.version });
  let orchestration: string;
  let instanceId: string;
  let input: RotateKeyInput | RecordKeyVersionInput;
  if (event.type === KeyVaultEventType.KeyNewVersionCreated) {
    orchestration = orchestrationNames.recordKeyVersion;
    instanceId = recordInstanceId(rotateId);
    input = { instance: instanceRef(instance), name: event.keyName, version: event.version, runId: event.id };
  } else {
    orchestration = orchestrationNames.rotateKey;
    instanceId = rotateId;
    const trigger = event.type === KeyVaultEventType.KeyExpired ? "expired" : "nearExpiry";
    input = { instance: instanceRef(instance), name: event.keyName, version: event.version, trigger, runId: event.id, ...(policy === undefined ? {} : { policy }) };
  }
  const decision = rotationStartDecision(await readInstanceStatus(deps.client, instanceId));
  if (!decision.start) {
    deps.log(`event ${event.id} (${event.type} ${instance.name}/${event.keyName}/${event.version}): ${instanceId} ${decision.reason}; not started again`);
    return { kind: "duplicate", eventId: event.id, instanceId, reason: decision.reason };
  }
  if (!(await versionExists(event, instance, deps))) {
    const reason = `key ${instance.name}/${event.keyName} has no version ${event.version} (a forged or stale event); nothing started`;
    deps.log(`event ${event.id} rejected, no action taken: ${reason}`);
    return { kind: "rejected", eventId: event.id, reason };
  }
  try {
    await deps.client.startNew(orchestration, { instanceId, input });
  } catch (e) {
    if (!isAlreadyStarted(e)) throw e;
    deps.log(`event ${event.id}: ${instanceId} was started concurrently by another delivery; not started again`);
    return { kind: "duplicate", eventId: event.id, instanceId, reason: "started concurrently" };
  }
  deps.log(`event ${event.id} (${event.type} ${instance.name}/${event.keyName}/${event.version}): started ${orchestration} ${instanceId}`);
  const out: RemediationOutcome = { kind: "started", eventId: event.id, orchestration, instanceId };
  if (decision.replaces !== undefined) out.replaces = decision.replaces;
  return out;
}
