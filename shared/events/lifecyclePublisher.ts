import { randomUUID } from "node:crypto";
import type { TokenCredential } from "@azure/core-auth";
import { AzureKeyCredential, EventGridPublisherClient, type EventGridPublisherClientOptions } from "@azure/eventgrid";
import { redactingLog, redactSecrets } from "../errors/redactSecrets";
import type { LifecycleEventDataMap } from "./lifecycleEventData";
import { LifecycleEventType } from "./lifecycleEventTypes";
import { validateLifecycleEventData } from "./validateLifecycleEventData";

/** What happened to one publish. Never thrown: the job whose outcome it reports must not fail because of it. */
export type PublishOutcome =
  | { kind: "published"; id: string; type: string; attempts: number }
  | { kind: "invalid"; id: string; type: string; errors: string[] }
  | { kind: "failed"; id: string; type: string; attempts: number; error: string };

export interface LifecyclePublisherOptions {
  /** Topic endpoint, e.g. `https://<topic>.<region>-1.eventgrid.azure.net/api/events`. */
  readonly endpoint: string;
  /** Managed identity in Azure (TokenCredential), the topic key locally (AzureKeyCredential). */
  readonly credential: TokenCredential | AzureKeyCredential;
  /** The topic's input schema (default EventGrid). */
  readonly schema?: "EventGrid" | "CloudEvent";
  /** CloudEvents `source` (required for the CloudEvent schema), e.g. `/hsm-lifecycle/<function app>`. */
  readonly source?: string;
  /** Our own attempts (the SDK's retries are turned off so every attempt is counted). Default 3 × 500 ms doubling. */
  readonly retry?: { readonly attempts?: number; readonly delayMs?: number };
  /** Passed to EventGridPublisherClient (e.g. `tlsOptions: { ca }` for the emulator). */
  readonly clientOptions?: EventGridPublisherClientOptions;
  readonly log?: (line: string) => void;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface PublishRequest<T extends LifecycleEventType> {
  readonly type: T;
  readonly data: LifecycleEventDataMap[T];
  /** Stable id so subscribers can dedupe retries (e.g. `rotated:{hsm}:{key}:{version}`); random when omitted. */
  readonly id?: string;
  readonly subject?: string;
  readonly time?: Date;
}

export interface LifecyclePublisher {
  publish<T extends LifecycleEventType>(request: PublishRequest<T>): Promise<PublishOutcome>;
}

/** Subject per type: Key Vault's (the key name) for the expiry events, a resource path for ours. */
export function defaultSubject<T extends LifecycleEventType>(type: T, data: LifecycleEventDataMap[T]): string {
  const d = data as unknown as Record<string, unknown>;
  switch (type) {
    case LifecycleEventType.KeyNearExpiry:
    case LifecycleEventType.KeyExpired:
      return String(d["ObjectName"]);
    case LifecycleEventType.KeyRotated:
    case LifecycleEventType.KeyRotationFailed:
      return `/${d["instanceKind"] === "vault" ? "vaults" : "managedHsms"}/${String(d["instance"])}/keys/${String(d["keyName"])}`;
    case LifecycleEventType.KeyVersionCompromised:
      return `/${d["instanceKind"] === "vault" ? "vaults" : "managedHsms"}/${String(d["instance"])}/keys/${String(d["keyName"])}/versions/${String(d["version"])}`;
    case LifecycleEventType.OperationRequest:
      return `/requests/${String(d["request"])}`;
    case LifecycleEventType.BackupCompleted:
    case LifecycleEventType.BackupFailed:
      return `/managedHsms/${String(d["hsmName"])}/backups/${String(d["jobId"] ?? "none")}`;
    default:
      return `/managedHsms/${String(d["drHsm"])}/drills/${String(d["runId"])}`;
  }
}

/**
 * Publishes lifecycle events after validating them against their JSON Schema. Failures are retried, logged
 * (type, id and cause, never the credential) and returned as a value.
 */
export function createLifecyclePublisher(options: LifecyclePublisherOptions): LifecyclePublisher {
  const schema = options.schema ?? "EventGrid";
  if (schema === "CloudEvent" && !options.source) {
    throw new Error("A CloudEvent publisher needs `source` (e.g. /hsm-lifecycle/<function app>): CloudEvents require it.");
  }
  const attempts = Math.max(1, Math.floor(options.retry?.attempts ?? 3));
  const delayMs = Math.max(0, options.retry?.delayMs ?? 500);
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  // Failure lines quote the topic's (or a proxy's) answer, which can echo a key or token back.
  const log = redactingLog(options.log ?? (() => undefined));
  const clientOptions: EventGridPublisherClientOptions = { ...options.clientOptions, retryOptions: { maxRetries: 0 } };
  const eventGridClient = schema === "EventGrid" ? new EventGridPublisherClient(options.endpoint, "EventGrid", options.credential, clientOptions) : undefined;
  const cloudEventClient = schema === "CloudEvent" ? new EventGridPublisherClient(options.endpoint, "CloudEvent", options.credential, clientOptions) : undefined;

  async function send(type: string, id: string, subject: string, time: Date, data: unknown): Promise<void> {
    if (eventGridClient) {
      await eventGridClient.send([{ id, eventType: type, subject, eventTime: time, dataVersion: "1", data }]);
    } else if (cloudEventClient) {
      await cloudEventClient.send([{ id, type, source: options.source ?? "", subject, time, data, datacontenttype: "application/json" }]);
    }
  }

  return {
    async publish(request) {
      const id = request.id ?? randomUUID();
      const { type, data } = request;
      const errors = validateLifecycleEventData(type, data);
      if (errors.length > 0) {
        log(`lifecycle event ${type} ${id} not published: it does not match its schema: ${errors.join("; ")}`);
        return { kind: "invalid", id, type, errors };
      }
      const subject = request.subject ?? defaultSubject(type, data);
      const time = request.time ?? new Date();
      let lastError = "";
      for (let attempt = 1; attempt <= attempts; attempt++) {
        try {
          await send(type, id, subject, time, data);
          if (attempt > 1) log(`lifecycle event ${type} ${id} published on attempt ${attempt}`);
          return { kind: "published", id, type, attempts: attempt };
        } catch (error) {
          lastError = describe(error);
          log(`lifecycle event ${type} ${id}: publish attempt ${attempt}/${attempts} failed: ${lastError}`);
          if (attempt < attempts) await sleep(delayMs * 2 ** (attempt - 1));
        }
      }
      return { kind: "failed", id, type, attempts, error: lastError };
    },
  };
}

function describe(error: unknown): string {
  const e = error as { statusCode?: number; code?: string; message?: string };
  const status = e.statusCode !== undefined ? `HTTP ${e.statusCode} ` : "";
  const code = e.code ? `${e.code}: ` : "";
  return redactSecrets(`${status}${code}${e.message ?? String(error)}`).slice(0, 500);
}

/**
 * The credential the publisher should use: the topic key when one is configured (local, emulator), otherwise
 * the app's managed identity (Azure; it needs the "EventGrid Data Sender" role on the topic).
 */
export function lifecyclePublisherCredential(topicKey: string | undefined, managedIdentity: TokenCredential): TokenCredential | AzureKeyCredential {
  return topicKey !== undefined && topicKey.trim() !== "" ? new AzureKeyCredential(topicKey.trim()) : managedIdentity;
}
