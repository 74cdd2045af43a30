import type { KeyVersionCompromisedData } from "../../events/lifecycleEventData";
import { LifecycleEventType } from "../../events/lifecycleEventTypes";
import { LifecycleError } from "../../errors/lifecycleError";
import { auditHandOff, tryWriteAuditRecord } from "../../storage/tryWriteAuditRecord";
import type { AuditRetryStart } from "../../auditRetry/startAuditRecordRetry";
import { configuredInstance, type RotationDeps, type RotationInstance } from "../../rotation/activities/deps";
import { rotationFailure } from "../../rotation/activities/failure";
import type { RequestAuditDeps } from "./recordRequestStep";

/** What a compromised version may still do: check old signatures and open what was sealed with it. Never create new ones. */
export const COMPROMISED_KEY_OPS = ["verify", "unwrapKey", "decrypt"] as const;

export interface RestrictKeyVersionInput {
  instance: RotationInstance;
  name: string;
  version: string;
  newVersion: string;
  request: string;
  ticket: string;
  disableAfter: string;
}

export interface RestrictKeyVersionOutput {
  keyOps: string[];
  event: "published" | "failed";
  audit: boolean;
  /** When the audit write failed: whether `auditRecordRetry` took the record over. */
  auditRetry?: AuditRetryStart;
}

/**
 * Activity `restrictKeyVersion`: after an emergency rotation for compromise, the old version keeps only the
 * key_ops in {@link COMPROMISED_KEY_OPS} it had (`updateKeyProperties` with keyOps; rotation's keys/write), so the
 * HSM refuses sign, wrap and encrypt with it at once while consumers can still verify and unwrap during the grace.
 * Publishes `HsmLifecycle.KeyVersionCompromised` and writes an audit record. Idempotent. Refuses the current version.
 */
export async function restrictKeyVersion(input: RestrictKeyVersionInput, deps: RotationDeps & RequestAuditDeps): Promise<RestrictKeyVersionOutput> {
  const instance = configuredInstance(input.instance, deps, "restrictKeyVersion");
  const client = deps.clients.keys(instance.url);
  let keyOps: string[];
  try {
    const current = await client.getKey(input.name);
    if ((current.properties.version ?? "").toLowerCase() === input.version.toLowerCase()) {
      throw new LifecycleError("Conflict", `${instance.name}/${input.name}/${input.version} is the key's current version; only a superseded version is restricted. Fix: rotate first.`);
    }
    const target = await client.getKey(input.name, { version: input.version });
    keyOps = (target.keyOperations ?? []).filter((op) => (COMPROMISED_KEY_OPS as readonly string[]).includes(op));
    const unchanged = keyOps.length === (target.keyOperations ?? []).length;
    if (!unchanged) await client.updateKeyProperties(input.name, input.version, { keyOps });
    deps.log?.(`restricted ${instance.name}/${input.name}/${input.version} to [${keyOps.join(", ")}]`);
  } catch (e) {
    if (e instanceof LifecycleError) throw e;
    throw rotationFailure(e, instance, "updateKeyProperties (restrict key_ops)", `${input.name}/${input.version}`);
  }
  const data: KeyVersionCompromisedData = {
    instance: instance.name,
    instanceKind: instance.kind,
    keyName: input.name,
    version: input.version,
    newVersion: input.newVersion,
    keyOps,
    disableAfter: input.disableAfter,
    request: input.request,
    ticket: input.ticket,
    restrictedAt: deps.now().toISOString(),
  };
  let event: RestrictKeyVersionOutput["event"] = "failed";
  if (deps.publisher !== undefined) {
    const outcome = await deps.publisher.publish({ type: LifecycleEventType.KeyVersionCompromised, id: `compromised:${input.request}`, time: new Date(data.restrictedAt), data });
    event = outcome.kind === "published" ? "published" : "failed";
  }
  if (deps.auditContainer === undefined) return { keyOps, event, audit: false };
  // A failed write is handed to `auditRecordRetry` (as the rotation identity), so an outage does not lose it.
  const blob = `rotation/requests/${input.request}/compromised-${input.version}.json`;
  const audit = await tryWriteAuditRecord(deps.auditContainer, blob, { schema: "hsm-lifecycle/audit/compromised", schemaVersion: 1, recordedAt: data.restrictedAt, data, event }, auditHandOff("rotation", deps));
  if (audit.written) return { keyOps, event, audit: true };
  deps.log?.(`restrictKeyVersion: audit record not written: ${audit.error}${audit.retry === undefined ? "" : ` (auditRecordRetry ${audit.retry.kind})`}`);
  return { keyOps, event, audit: false, ...(audit.retry === undefined ? {} : { auditRetry: audit.retry }) };
}
