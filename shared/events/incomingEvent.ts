import { EventGridDeserializer } from "@azure/eventgrid";
import { KeyVaultEventType, SUBSCRIPTION_VALIDATION_EVENT_TYPE } from "./lifecycleEventTypes";

/** A key event we trust enough to act on, normalised from either schema. */
export interface KeyEvent {
  readonly id: string;
  readonly type: KeyVaultEventType;
  readonly schema: "EventGrid" | "CloudEvent";
  /** Event Grid `topic` / CloudEvents `source`: the ARM id of the vault, or our custom topic for HSM events. */
  readonly source: string;
  readonly subject: string;
  readonly time: Date;
  /** Vault or HSM name (`data.VaultName`). */
  readonly instance: string;
  readonly keyName: string;
  readonly version: string;
  /** Versioned key id (`data.Id`). */
  readonly keyId: string;
  /** Unix seconds, or null when the key has none. */
  readonly nbf: number | null;
  readonly exp: number | null;
  /** Same for every redelivery of the same fact: use it to make remediation idempotent. */
  readonly dedupeKey: string;
}

export type IncomingEventResult =
  | { readonly kind: "accepted"; readonly event: KeyEvent }
  | { readonly kind: "rejected"; readonly reason: string; readonly eventId?: string };

export interface IncomingEventPolicy {
  /** Accepted `topic`/`source` values (ARM ids), compared case-insensitively. Everything else is foreign. */
  readonly allowedSources: readonly string[];
  /** Accepted key event types (a subset of KeyVaultEventType). */
  readonly allowedTypes: readonly string[];
  /** Per-event limit in UTF-8 bytes (Event Grid's is 1 MB). */
  readonly maxEventBytes?: number;
  /** When set, `data.Id` must point at one of these hosts (e.g. `myvault.vault.azure.net`). */
  readonly allowedKeyHosts?: readonly string[];
  /**
   * The configured instances. When set, `data.Id` must name the instance the event's source speaks for: a vault's
   * events name that vault, the lifecycle topic's (the sweep's HSM notices) name a Managed HSM — so a vault's
   * event cannot start a rotation on an HSM.
   */
  readonly instances?: readonly EventInstance[];
  /** Nesting limit of the body (Key Vault's events nest 3 deep); deeper bodies are refused before anything recurses. */
  readonly maxDepth?: number;
  /** Whole-body limit in UTF-8 bytes (Event Grid delivers at most 1 MB per request). */
  readonly maxBodyBytes?: number;
}

/** A configured HSM or vault as the event check needs it: its name, kind and `host[:port]`. */
export interface EventInstance {
  readonly name: string;
  readonly kind: "managedHsm" | "vault";
  readonly host: string;
}

export const DEFAULT_MAX_EVENT_BYTES = 1_048_576;
export const DEFAULT_MAX_EVENT_DEPTH = 16;
export const DEFAULT_MAX_BODY_BYTES = DEFAULT_MAX_EVENT_BYTES + 1024;
/** Event Grid's largest delivery batch. */
export const MAX_EVENTS_PER_BODY = 5000;

const deserializer = new EventGridDeserializer();

/**
 * Validates a webhook body (a JSON string, one event, or an array; Event Grid or CloudEvents schema) event by
 * event. Anything malformed, oversized, foreign (source or type not configured) or internally inconsistent
 * (subject, Id, VaultName disagreeing — the marks of a forged event) is rejected with a reason, logged through
 * `log`, and must cause no action. Never throws: size and nesting are bounded before anything recurses (a body
 * nested thousands deep would otherwise overflow the stack, fail the invocation, and be redelivered). No I/O.
 */
export async function parseIncomingEvents(
  body: unknown,
  policy: IncomingEventPolicy,
  log: (line: string) => void = () => undefined,
): Promise<IncomingEventResult[]> {
  const maxBytes = policy.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
  const maxBodyBytes = policy.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxDepth = policy.maxDepth ?? DEFAULT_MAX_EVENT_DEPTH;
  let parsedBody: unknown = body;
  if (typeof body === "string" || Buffer.isBuffer(body)) {
    const size = Buffer.isBuffer(body) ? body.length : Buffer.byteLength(body, "utf8");
    if (size > maxBodyBytes) return [reject(log, `the body is ${size} bytes, over the ${maxBodyBytes}-byte limit`)];
    try {
      parsedBody = JSON.parse(body.toString());
    } catch (error) {
      return [reject(log, `the body is not JSON: ${(error as Error).message}`)];
    }
  }
  // Bounded before anything recursive (JSON.stringify, the SDK's deserializer) touches it.
  const bounds = jsonBounds(parsedBody, maxDepth, maxBodyBytes);
  if (bounds !== undefined) {
    const topId = typeof parsedBody === "object" && parsedBody !== null && !Array.isArray(parsedBody) ? (parsedBody as Record<string, unknown>)["id"] : undefined;
    return [reject(log, `the body ${bounds}`, typeof topId === "string" ? topId : undefined)];
  }
  const items = Array.isArray(parsedBody) ? (parsedBody as unknown[]) : [parsedBody];
  if (items.length === 0) return [reject(log, "the body holds no events")];
  if (items.length > MAX_EVENTS_PER_BODY) return [reject(log, `the body holds ${items.length} events, over Event Grid's ${MAX_EVENTS_PER_BODY} per delivery`)];
  const results: IncomingEventResult[] = [];
  for (const item of items) {
    try {
      results.push(await parseOne(item, policy, maxBytes, log));
    } catch (error) {
      // Defence in depth: whatever a hostile event makes throw is a rejection, not a failed (redelivered) invocation.
      const rawId = typeof item === "object" && item !== null && typeof (item as Record<string, unknown>)["id"] === "string" ? String((item as Record<string, unknown>)["id"]) : undefined;
      results.push(reject(log, `the event could not be read: ${(error as Error)?.message ?? String(error)}`, rawId));
    }
  }
  return results;
}

/**
 * Why a parsed JSON value is out of bounds (nested deeper than `maxDepth`, or larger than `maxBytes` as JSON),
 * or undefined. Iterative, so it cannot overflow the stack itself; stops at the first excess.
 */
export function jsonBounds(value: unknown, maxDepth: number, maxBytes: number): string | undefined {
  const stack: [unknown, number][] = [[value, 0]];
  let bytes = 0;
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (typeof v === "string") bytes += Buffer.byteLength(v, "utf8") + 2;
    else if (typeof v === "object" && v !== null) {
      if (depth + 1 > maxDepth) return `is nested more than ${maxDepth} levels deep`;
      bytes += 2;
      if (Array.isArray(v)) {
        for (const child of v) {
          bytes += 1;
          stack.push([child, depth + 1]);
        }
      } else {
        for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
          bytes += Buffer.byteLength(k, "utf8") + 4;
          stack.push([child, depth + 1]);
        }
      }
    } else bytes += String(v).length;
    if (bytes > maxBytes) return `is over the ${maxBytes}-byte limit`;
  }
  return undefined;
}

async function parseOne(item: unknown, policy: IncomingEventPolicy, maxBytes: number, log: (line: string) => void): Promise<IncomingEventResult> {
  if (typeof item !== "object" || item === null || Array.isArray(item)) return reject(log, "an event is not a JSON object");
  const raw = item as Record<string, unknown>;
  const rawId = typeof raw["id"] === "string" ? raw["id"] : undefined;
  const size = Buffer.byteLength(JSON.stringify(raw), "utf8");
  if (size > maxBytes) return reject(log, `the event is ${size} bytes, over the ${maxBytes}-byte limit`, rawId);

  const isCloudEvent = "specversion" in raw;
  let id: string;
  let type: string;
  let source: string;
  let subject: string;
  let time: Date | undefined;
  let data: unknown;
  try {
    if (isCloudEvent) {
      const [ce] = await deserializer.deserializeCloudEvents(raw);
      if (!ce) throw new Error("no event");
      ({ id, type, source } = ce);
      subject = ce.subject ?? "";
      time = ce.time;
      data = ce.data;
    } else {
      const [eg] = await deserializer.deserializeEventGridEvents(raw);
      if (!eg) throw new Error("no event");
      ({ id, eventType: type, subject, data } = eg);
      source = eg.topic ?? "";
      time = eg.eventTime;
    }
  } catch (error) {
    return reject(log, `malformed ${isCloudEvent ? "CloudEvent" : "Event Grid event"}: ${(error as Error).message}`, rawId);
  }

  if (type === SUBSCRIPTION_VALIDATION_EVENT_TYPE) {
    return reject(log, "a subscription validation event is a handshake, answered by the webhook, not a key event", id);
  }
  if (!policy.allowedSources.some((s) => s.toLowerCase() === source.toLowerCase())) {
    return reject(log, `foreign source "${source}": it is not one of the configured topics/vaults`, id);
  }
  if (!policy.allowedTypes.some((t) => t.toLowerCase() === type.toLowerCase())) {
    return reject(log, `event type "${type}" is not accepted here`, id);
  }
  const knownType = Object.values(KeyVaultEventType).find((t) => t.toLowerCase() === type.toLowerCase());
  if (!knownType) return reject(log, `event type "${type}" is not a key event this app understands`, id);
  if (time === undefined || Number.isNaN(time.getTime())) return reject(log, "the event has no valid time", id);

  const parsed = parseKeyData(data, subject, source, policy);
  if (typeof parsed === "string") return reject(log, parsed, id);
  const event: KeyEvent = {
    id,
    type: knownType,
    schema: isCloudEvent ? "CloudEvent" : "EventGrid",
    source,
    subject: subject.trim(),
    time,
    ...parsed,
    dedupeKey: `${knownType}|${parsed.instance}|${parsed.keyName}|${parsed.version}`.toLowerCase(),
  };
  return { kind: "accepted", event };
}

type KeyFields = Pick<KeyEvent, "instance" | "keyName" | "version" | "keyId" | "nbf" | "exp">;

/** Reads Key Vault's PascalCase data (camelCase accepted: the SDK's types declare it) and cross-checks it. */
function parseKeyData(data: unknown, subject: string, source: string, policy: IncomingEventPolicy): KeyFields | string {
  if (typeof data !== "object" || data === null || Array.isArray(data)) return "malformed data: expected an object";
  const d = data as Record<string, unknown>;
  const read = (pascal: string, camel: string): unknown => (d[pascal] !== undefined ? d[pascal] : d[camel]);
  const text = (pascal: string, camel: string): string | undefined => {
    const value = read(pascal, camel);
    // The Key Vault docs' sample carries stray spaces ("ObjectName ", " ee05…"): trim rather than reject.
    return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
  };
  const instance = text("VaultName", "vaultName");
  const objectType = text("ObjectType", "objectType");
  const keyName = text("ObjectName", "objectName");
  const version = text("Version", "version");
  const keyId = text("Id", "id");
  if (!instance || !keyName || !version || !keyId || !objectType) {
    return "malformed data: Id, VaultName, ObjectType, ObjectName and Version are all required";
  }
  if (objectType !== "Key") return `malformed data: ObjectType is "${objectType}", not "Key"`;
  if (!/^[A-Za-z0-9-]{1,127}$/.test(keyName)) return "malformed data: ObjectName is not a valid key name";
  if (!/^[0-9a-fA-F]{32}$/.test(version)) return "malformed data: Version is not a 32-hex-digit key version";
  if (subject.trim() !== keyName) return `inconsistent event: subject "${subject.trim()}" is not the key "${keyName}"`;
  let url: URL;
  try {
    url = new URL(keyId);
  } catch {
    return "malformed data: Id is not a URL";
  }
  if (url.protocol !== "https:") return "malformed data: Id is not an https URL";
  const expectedPath = `/keys/${keyName}/${version}`.toLowerCase();
  if (url.pathname.replace(/\/+$/, "").toLowerCase() !== expectedPath) {
    return `inconsistent event: Id ${url.pathname} does not name key ${keyName} version ${version}`;
  }
  if (policy.allowedKeyHosts && !policy.allowedKeyHosts.some((h) => h.toLowerCase() === url.host.toLowerCase())) {
    return `foreign key host "${url.host}": it is not one of the configured vaults/HSMs`;
  }
  if (policy.instances !== undefined) {
    const mismatch = sourceMismatch(source, url.host, instance, policy.instances);
    if (mismatch !== undefined) return mismatch;
  }
  // A vault's own events come from its ARM id; the name in the data must be that vault's.
  const vaultMatch = /\/providers\/Microsoft\.KeyVault\/vaults\/([^/]+)$/i.exec(source);
  if (vaultMatch && vaultMatch[1]?.toLowerCase() !== instance.toLowerCase()) {
    return `inconsistent event: VaultName "${instance}" does not match the source vault "${vaultMatch[1] ?? ""}"`;
  }
  const nbf = unixSeconds(read("NBF", "nbf"));
  const exp = unixSeconds(read("EXP", "exp"));
  if (nbf === "invalid" || exp === "invalid") return "malformed data: NBF/EXP must be Unix seconds or null";
  return { instance, keyName, version: version.toLowerCase(), keyId, nbf, exp };
}

/**
 * Why the key host is not an instance the source may speak for, or undefined. A vault (or HSM) source speaks only
 * for itself: the Id's host must be the configured instance of that kind whose name, or first DNS label (Azure's
 * `{name}.vault.azure.net`), is the name in the ARM id. An Event Grid topic carries the sweep's notices, which are
 * for Managed HSM keys only, each naming its HSM's configured name in `VaultName`.
 */
function sourceMismatch(source: string, keyHost: string, vaultName: string, instances: readonly EventInstance[]): string | undefined {
  const owner = instances.find((i) => i.host.toLowerCase() === keyHost.toLowerCase());
  if (owner === undefined) return `foreign key host "${keyHost}": it is not one of the configured vaults/HSMs`;
  const resource = /\/providers\/Microsoft\.(KeyVault\/vaults|KeyVault\/managedHSMs|EventGrid\/topics)\/([^/]+)$/i.exec(source);
  const kind = resource?.[1]?.toLowerCase();
  const name = (resource?.[2] ?? "").toLowerCase();
  if (kind === "eventgrid/topics") {
    if (owner.kind !== "managedHsm") return `inconsistent event: topic "${name}" carries Managed HSM notices only, but Id names ${owner.kind} "${owner.name}"`;
    if (owner.name.toLowerCase() !== vaultName.toLowerCase()) return `inconsistent event: VaultName "${vaultName}" is not "${owner.name}", the HSM whose host the Id names`;
    return undefined;
  }
  if (kind === "keyvault/vaults" || kind === "keyvault/managedhsms") {
    const expected = kind === "keyvault/vaults" ? "vault" : "managedHsm";
    const label = keyHost.split(".")[0]?.toLowerCase() ?? "";
    if (owner.kind !== expected || (owner.name.toLowerCase() !== name && label !== name)) {
      return `inconsistent event: source ${expected} "${name}" may only speak for its own keys, but Id names ${owner.kind} "${owner.name}" (${keyHost})`;
    }
    return undefined;
  }
  return `source "${source}" is not a vault, Managed HSM or Event Grid topic, so the instance it speaks for is unknown`;
}

function unixSeconds(value: unknown): number | null | "invalid" {
  if (value === undefined || value === null) return null;
  const n = typeof value === "string" && value.trim() !== "" ? Number(value.trim()) : value;
  return typeof n === "number" && Number.isInteger(n) && n >= 0 ? n : "invalid";
}

function reject(log: (line: string) => void, reason: string, rawEventId?: string): IncomingEventResult {
  // The id is the sender's: bounded so a hostile one cannot flood the log or the audit record.
  const eventId = rawEventId === undefined ? undefined : rawEventId.length > 200 ? `${rawEventId.slice(0, 200)}…` : rawEventId;
  log(`event ${eventId ?? "(no id)"} rejected, no action taken: ${reason}`);
  return eventId === undefined ? { kind: "rejected", reason } : { kind: "rejected", reason, eventId };
}
