import type { KeyExpiryData } from "../../events/lifecycleEventData";
import type { PublishOutcome } from "../../events/lifecyclePublisher";
import { LifecycleEventType } from "../../events/lifecycleEventTypes";
import { configuredInstance, decisionTime, type RotationDeps, type RotationInstance } from "./deps";
import type { NoticeKey } from "./listDueKeys";

export interface PublishNoticesInput {
  instance: RotationInstance;
  /** From `listDueKeys` (Managed HSM keys only). */
  notices: NoticeKey[];
  /** Event time (ISO); default the deps' clock. */
  now?: string;
}

export interface NoticeEvent {
  id: string;
  type: typeof LifecycleEventType.KeyNearExpiry | typeof LifecycleEventType.KeyExpired;
  subject: string;
  data: KeyExpiryData;
}

export interface PublishNoticesOutput {
  /** The events, shaped exactly like a vault's (PascalCase data, NBF/EXP in Unix seconds, subject = key name). */
  events: NoticeEvent[];
  /** One outcome per event when a publisher is configured; absent otherwise (the caller publishes `events`). */
  outcomes?: PublishOutcome[];
  published: number;
  failed: number;
}

/**
 * Managed HSM sends no Event Grid events, so the sweep synthesises `Microsoft.KeyVault.KeyNearExpiry` /
 * `KeyExpired` for HSM keys, one per key, version and stage. The event id is the deterministic
 * `notice:{hsm}:{key}:{version}:{stage}`, so a re-run sends the same id and subscribers can drop the
 * duplicate. Publishing problems are values (the sweep must not fail because a notice did not go out).
 */
export async function publishNotices(input: PublishNoticesInput, deps: RotationDeps): Promise<PublishNoticesOutput> {
  const time = decisionTime(input, deps);
  const instance = configuredInstance(input.instance, deps, "publishNotices");
  const events = input.notices.map((n) => toEvent(instance, n));
  const out: PublishNoticesOutput = { events, published: 0, failed: 0 };
  if (deps.publisher === undefined) return out;
  out.outcomes = [];
  for (const e of events) {
    const outcome = await deps.publisher.publish({ type: e.type, data: e.data, id: e.id, subject: e.subject, time });
    out.outcomes.push(outcome);
    if (outcome.kind === "published") out.published++;
    else out.failed++;
  }
  return out;
}

function toEvent(instance: RotationInstance, n: NoticeKey): NoticeEvent {
  return {
    id: n.eventId,
    type: n.stage === "expired" ? LifecycleEventType.KeyExpired : LifecycleEventType.KeyNearExpiry,
    subject: n.name,
    data: {
      Id: n.keyId,
      VaultName: instance.name,
      ObjectType: "Key",
      ObjectName: n.name,
      Version: n.version,
      NBF: unixSeconds(n.notBefore),
      EXP: unixSeconds(n.expiresOn),
      ...(n.manualAction === undefined ? {} : { ManualAction: n.manualAction }),
    },
  };
}

function unixSeconds(iso: string | undefined): number | null {
  if (iso === undefined) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
}
