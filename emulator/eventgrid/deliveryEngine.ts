import { randomUUID } from "node:crypto";
import type { DeadLetterSink } from "./deadLetterSink";
import { backoffMs, resolveDeliveryPolicy, type DeliveryPolicy } from "./deliveryPolicy";
import type { EventRecord, EventSchema } from "./eventRecord";
import { validateSubscriptionSpec, type SubscriptionSpec } from "./subscriptionSpec";
import { webhookRequest } from "./webhookRequest";

export type ProvisioningState = "AwaitingValidation" | "Succeeded" | "Failed";

export interface SubscriptionView extends SubscriptionSpec {
  readonly provisioningState: ProvisioningState;
  readonly validationError?: string;
}

export interface DeliveryLogEntry {
  readonly subscription: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly attempt: number;
  /** HTTP status, or 0 for a network error / timeout. */
  readonly status: number;
  readonly outcome: string;
  readonly at: string;
}

export interface DeadLetterEntry {
  readonly subscription: string;
  readonly eventId: string;
  readonly reason: string;
  readonly container?: string;
  readonly blobName?: string;
  /** Set when no container is configured or the blob write failed: the event is then dropped, as in Azure. */
  readonly dropped?: string;
}

export interface DeliveryEngineOptions {
  readonly policy?: Partial<DeliveryPolicy>;
  readonly deadLetter?: DeadLetterSink;
  /** Container used when a subscription names none. */
  readonly defaultDeadLetterContainer?: string;
  /** Emulator clock (epoch ms) for event and dead-letter timestamps; backoff waits are real time. */
  readonly now?: () => number;
  /** Extra CA for https webhooks. */
  readonly ca?: string | Buffer;
  readonly log?: (line: string) => void;
  /** ARM id of a source (topic or vault) for the handshake event's `topic`; the bare name when unknown. */
  readonly resourceIdOf?: (source: string) => string;
}

interface Subscription {
  spec: SubscriptionSpec;
  state: ProvisioningState;
  validationError?: string;
  validated: Promise<boolean>;
}

/** Statuses after which Azure dead-letters at once instead of retrying. */
const NO_RETRY_STATUSES = new Set([400, 403, 413]);
const MAX_LOG = 2_000;

/**
 * Pushes events to webhook subscriptions as Event Grid does: the validation handshake first (events wait for
 * it), one event per POST, `aeg-*` headers, retries with exponential backoff, then dead-lettering to Blob
 * Storage. Delivery is at-least-once and unordered; `duplicates` injects extra copies for idempotency tests.
 */
export class DeliveryEngine {
  private readonly subscriptions = new Map<string, Subscription>();
  /** Pending backoff waits: cleared and resolved on close so no delivery loop is left hanging. */
  private readonly timers = new Map<NodeJS.Timeout, () => void>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly deliveryLog: DeliveryLogEntry[] = [];
  private readonly deadLetters: DeadLetterEntry[] = [];
  private policy: DeliveryPolicy;
  private closed = false;
  /** Aborts in-flight webhook requests on close, so closing never waits for a slow subscriber. */
  private readonly abort = new AbortController();
  private readonly now: () => number;

  constructor(private readonly options: DeliveryEngineOptions = {}) {
    this.policy = resolveDeliveryPolicy(options.policy);
    this.now = options.now ?? Date.now;
  }

  setPolicy(overrides: Partial<DeliveryPolicy>): DeliveryPolicy {
    this.policy = resolveDeliveryPolicy({ ...this.policy, ...overrides });
    return this.policy;
  }

  getPolicy(): DeliveryPolicy {
    return this.policy;
  }

  /** Creates (or replaces) a subscription and starts its validation handshake. */
  addSubscription(input: SubscriptionSpec): SubscriptionView {
    const spec = validateSubscriptionSpec(input);
    const subscription: Subscription = { spec, state: "AwaitingValidation", validated: Promise.resolve(false) };
    subscription.validated = this.track(
      this.validate(subscription).catch((error: unknown) => {
        subscription.state = "Failed";
        subscription.validationError = `Webhook validation handshake failed: ${(error as Error).message}`;
        return false;
      }),
    );
    this.subscriptions.set(spec.name.toLowerCase(), subscription);
    return this.view(subscription);
  }

  removeSubscription(name: string): boolean {
    return this.subscriptions.delete(name.toLowerCase());
  }

  getSubscription(name: string): SubscriptionView | undefined {
    const subscription = this.subscriptions.get(name.toLowerCase());
    return subscription ? this.view(subscription) : undefined;
  }

  listSubscriptions(): SubscriptionView[] {
    return [...this.subscriptions.values()].map((s) => this.view(s));
  }

  setDuplicates(name: string, duplicates: number): SubscriptionView {
    const subscription = this.subscriptions.get(name.toLowerCase());
    if (!subscription) throw new Error(`Subscription "${name}" does not exist.`);
    subscription.spec = validateSubscriptionSpec({ ...subscription.spec, duplicates });
    return this.view(subscription);
  }

  /** Resolves once the subscription's handshake finished (true = validated). */
  async whenValidated(name: string): Promise<boolean> {
    const subscription = this.subscriptions.get(name.toLowerCase());
    return subscription ? subscription.validated : false;
  }

  deliveries(): readonly DeliveryLogEntry[] {
    return [...this.deliveryLog];
  }

  deadLettered(): readonly DeadLetterEntry[] {
    return [...this.deadLetters];
  }

  /** Fans accepted events out to every subscription on `source` whose type filter matches. */
  publish(source: string, events: readonly EventRecord[]): void {
    if (this.closed) return;
    for (const subscription of this.subscriptions.values()) {
      if (subscription.spec.source.toLowerCase() !== source.toLowerCase()) continue;
      for (const event of events) {
        const types = subscription.spec.includedEventTypes;
        if (types && !types.some((t) => t.toLowerCase() === event.type.toLowerCase())) continue;
        const copies = 1 + (subscription.spec.duplicates ?? 0);
        for (let i = 0; i < copies; i++) {
          // Nobody awaits a delivery: an unexpected failure is logged here instead of becoming an unhandled rejection.
          void this.track(this.deliver(subscription, event)).catch((error: unknown) =>
            this.options.log?.(`eventgrid: delivery of ${event.id} to ${subscription.spec.name} failed unexpectedly: ${(error as Error).message}`),
          );
        }
      }
    }
  }

  /** Resolves when no handshake or delivery is pending (tests use it instead of sleeping). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Stops retrying; pending deliveries end without further attempts. */
  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort();
    for (const [timer, resolve] of this.timers) {
      clearTimeout(timer);
      resolve();
    }
    this.timers.clear();
    await Promise.allSettled([...this.inFlight]);
  }

  private view(subscription: Subscription): SubscriptionView {
    return {
      ...subscription.spec,
      provisioningState: subscription.state,
      ...(subscription.validationError ? { validationError: subscription.validationError } : {}),
    };
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    const done = promise.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
    return promise;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.set(timer, resolve);
    });
  }

  private deliverySchema(subscription: Subscription, event: EventRecord): EventSchema {
    // Azure can turn Event Grid-schema events (system topics) into CloudEvents, never the other way.
    return event.schema === "EventGrid" && subscription.spec.deliverySchema === "CloudEvent" ? "CloudEvent" : event.schema;
  }

  private async validate(subscription: Subscription): Promise<boolean> {
    const { spec } = subscription;
    let lastError = "";
    for (let attempt = 1; attempt <= this.policy.validationAttempts && !this.closed; attempt++) {
      try {
        lastError = spec.deliverySchema === "CloudEvent" ? await this.cloudEventsHandshake(spec) : await this.eventGridHandshake(spec);
        if (lastError === "") {
          subscription.state = "Succeeded";
          delete subscription.validationError;
          this.options.log?.(`eventgrid: subscription ${spec.name} validated by ${spec.endpoint}`);
          return true;
        }
      } catch (error) {
        lastError = `the webhook could not be reached: ${(error as Error).message}`;
      }
      if (attempt < this.policy.validationAttempts) await this.sleep(backoffMs(this.policy, attempt));
    }
    subscription.state = "Failed";
    subscription.validationError = `Webhook validation handshake failed: ${lastError}. The endpoint must echo data.validationCode as {"validationResponse": code} (Event Grid schema) or answer OPTIONS with WebHook-Allowed-Origin (CloudEvents).`;
    this.options.log?.(`eventgrid: subscription ${spec.name}: ${subscription.validationError}`);
    return false;
  }

  /** Returns "" on success, else why the handshake failed. */
  private async eventGridHandshake(spec: SubscriptionSpec): Promise<string> {
    const validationCode = randomUUID();
    const event = {
      id: randomUUID(),
      topic: this.options.resourceIdOf?.(spec.source) ?? spec.source,
      subject: "",
      // No validationUrl: the emulator has no manual-validation endpoint, so only the echo handshake is offered.
      data: { validationCode },
      eventType: "Microsoft.EventGrid.SubscriptionValidationEvent",
      eventTime: new Date(this.now()).toISOString(),
      metadataVersion: "1",
      dataVersion: "2",
    };
    const response = await webhookRequest(spec.endpoint, {
      method: "POST",
      headers: {
        "content-type": "application/json; charset=utf-8",
        "aeg-event-type": "SubscriptionValidation",
        "aeg-subscription-name": spec.name.toUpperCase(),
        "aeg-delivery-count": "0",
        "aeg-data-version": "2",
        "aeg-metadata-version": "1",
      },
      body: JSON.stringify([event]),
      timeoutMs: this.policy.requestTimeoutMs,
      ...(this.options.ca ? { ca: this.options.ca } : {}),
      signal: this.abort.signal,
    });
    if (response.status !== 200) return `the webhook answered HTTP ${response.status}`;
    try {
      const body = JSON.parse(response.body) as Record<string, unknown>;
      const echoed = body["validationResponse"] ?? body["ValidationResponse"];
      return echoed === validationCode ? "" : "the response's validationResponse does not match the validationCode sent";
    } catch {
      return "the response body is not JSON with a validationResponse";
    }
  }

  private async cloudEventsHandshake(spec: SubscriptionSpec): Promise<string> {
    const origin = "eventgrid.azure.net";
    const response = await webhookRequest(spec.endpoint, {
      method: "OPTIONS",
      headers: { "webhook-request-origin": origin, "webhook-request-rate": "120" },
      timeoutMs: this.policy.requestTimeoutMs,
      ...(this.options.ca ? { ca: this.options.ca } : {}),
      signal: this.abort.signal,
    });
    if (response.status !== 200) return `the webhook answered OPTIONS with HTTP ${response.status}`;
    const allowed = response.headers["webhook-allowed-origin"];
    return allowed === origin || allowed === "*" ? "" : "the OPTIONS response lacks WebHook-Allowed-Origin";
  }

  private async deliver(subscription: Subscription, event: EventRecord): Promise<void> {
    if (!(await subscription.validated)) return;
    const schema = this.deliverySchema(subscription, event);
    const wire = schema === event.schema ? event.wire : toCloudEvent(event.wire);
    const { spec } = subscription;
    let lastStatus = 0;
    let lastOutcome = "GenericError";
    let attempts = 0;
    for (let attempt = 1; attempt <= this.policy.maxAttempts && !this.closed; attempt++) {
      attempts = attempt;
      try {
        const response = await webhookRequest(spec.endpoint, {
          method: "POST",
          headers: {
            "content-type": schema === "EventGrid" ? "application/json; charset=utf-8" : "application/cloudevents+json; charset=utf-8",
            "aeg-event-type": "Notification",
            "aeg-subscription-name": spec.name.toUpperCase(),
            "aeg-delivery-count": String(attempt - 1),
            "aeg-data-version": String(event.wire["dataVersion"] ?? ""),
            "aeg-metadata-version": "1",
          },
          // Azure's default batch size for webhooks is one event: an array of one (Event Grid schema) or one
          // structured-mode CloudEvent.
          body: JSON.stringify(schema === "EventGrid" ? [wire] : wire),
          timeoutMs: this.policy.requestTimeoutMs,
          ...(this.options.ca ? { ca: this.options.ca } : {}),
          signal: this.abort.signal,
        });
        lastStatus = response.status;
        lastOutcome = outcomeOf(response.status);
      } catch (error) {
        lastStatus = 0;
        lastOutcome = /timed out/.test((error as Error).message) ? "TimedOut" : "GenericError";
      }
      this.record({ subscription: spec.name, eventId: event.id, eventType: event.type, attempt, status: lastStatus, outcome: lastOutcome, at: new Date(this.now()).toISOString() });
      if (lastStatus >= 200 && lastStatus <= 204) return;
      if (NO_RETRY_STATUSES.has(lastStatus)) break;
      if (attempt < this.policy.maxAttempts) await this.sleep(backoffMs(this.policy, attempt));
    }
    if (this.closed) return;
    const reason = NO_RETRY_STATUSES.has(lastStatus) ? "DeliveryFailed" : "MaxDeliveryAttemptsExceeded";
    await this.deadLetter(subscription, event, wire, schema, { reason, attempts, lastStatus, lastOutcome });
  }

  private async deadLetter(
    subscription: Subscription,
    event: EventRecord,
    wire: Readonly<Record<string, unknown>>,
    schema: EventSchema,
    failure: { reason: string; attempts: number; lastStatus: number; lastOutcome: string },
  ): Promise<void> {
    const { spec } = subscription;
    const at = new Date(this.now()).toISOString();
    const publishTime = new Date(event.publishedAt).toISOString();
    // Azure appends these to the event: plain names in Event Grid schema, lower-case extension attributes in CloudEvents.
    const record =
      schema === "EventGrid"
        ? { ...wire, deadLetterReason: failure.reason, deliveryAttempts: failure.attempts, lastDeliveryOutcome: failure.lastOutcome, lastHttpStatusCode: failure.lastStatus, publishTime, lastDeliveryAttemptTime: at }
        : { ...wire, deadletterreason: failure.reason, deliveryattempts: failure.attempts, lastdeliveryoutcome: failure.lastOutcome, lasthttpstatuscode: failure.lastStatus, publishtime: publishTime, lastdeliveryattempttime: at };
    const container = spec.deadLetterContainer ?? this.options.defaultDeadLetterContainer;
    const base = { subscription: spec.name, eventId: event.id, reason: failure.reason };
    if (!container || !this.options.deadLetter) {
      this.deadLetters.push({ ...base, dropped: "no dead-letter destination is configured (start the emulator with --blob)" });
      this.options.log?.(`eventgrid: event ${event.id} for ${spec.name} dropped after ${failure.attempts} attempts (${failure.reason}); no dead-letter destination`);
      return;
    }
    try {
      const blobName = await this.options.deadLetter.write(container, spec.source, spec.name, [record], this.now());
      this.deadLetters.push({ ...base, container, blobName });
      this.options.log?.(`eventgrid: event ${event.id} for ${spec.name} dead-lettered to ${container}/${blobName} (${failure.reason})`);
    } catch (error) {
      this.deadLetters.push({ ...base, container, dropped: `dead-letter write failed: ${(error as Error).message}` });
      this.options.log?.(`eventgrid: dead-letter write for event ${event.id} failed: ${(error as Error).message}`);
    }
  }

  private record(entry: DeliveryLogEntry): void {
    this.deliveryLog.push(entry);
    if (this.deliveryLog.length > MAX_LOG) this.deliveryLog.splice(0, this.deliveryLog.length - MAX_LOG);
  }
}

function outcomeOf(status: number): string {
  if (status >= 200 && status <= 204) return "Succeeded";
  switch (status) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 408:
      return "TimedOut";
    case 413:
      return "PayloadTooLarge";
    case 429:
    case 503:
      return "Busy";
    default:
      return "GenericError";
  }
}

/** Event Grid schema → CloudEvents 1.0, the mapping Azure applies for CloudEvents delivery of system events. */
export function toCloudEvent(event: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const cloudEvent: Record<string, unknown> = {
    id: event["id"],
    source: event["topic"],
    specversion: "1.0",
    type: event["eventType"],
    subject: event["subject"],
    time: event["eventTime"],
  };
  if (event["data"] !== undefined) cloudEvent["data"] = event["data"];
  return cloudEvent;
}
