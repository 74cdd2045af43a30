import type { EventSchema } from "./eventRecord";

/** What an event subscription is made of (the subset of Azure's that a webhook needs). */
export interface SubscriptionSpec {
  /** Unique name; Azure sends it upper-cased in `aeg-subscription-name`. */
  readonly name: string;
  /** The topic or vault whose events this subscription receives. */
  readonly source: string;
  /** Webhook URL (http or https). */
  readonly endpoint: string;
  /** Only these event types (case-insensitive); all when omitted. */
  readonly includedEventTypes?: readonly string[];
  /** Delivery schema; for a topic, events always go out in the schema they were published in. */
  readonly deliverySchema?: EventSchema;
  /** Blob container for dead letters (needs the emulator's `--blob` connection string). */
  readonly deadLetterContainer?: string;
  /** Extra copies of every event to deliver, to prove handlers are idempotent (at-least-once). */
  readonly duplicates?: number;
}

const OPTION_KEYS = ["types", "schema", "name", "deadletter", "duplicates"] as const;

/**
 * Parses `--subscribe SOURCE=URL[,types=T1;T2][,schema=cloudevents|eventgrid][,name=N][,deadletter=CONTAINER][,duplicates=N]`.
 * Options are split only where `,key=` names a known option, so a URL with commas in its query stays whole.
 */
export function parseSubscribeFlag(text: string, defaultName: string): SubscriptionSpec {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new Error(`--subscribe "${text}": expected SOURCE=URL[,types=T1;T2]; SOURCE is a topic or vault name.`);
  const source = text.slice(0, eq);
  const rest = text.slice(eq + 1);
  const splitter = new RegExp(`,(?=(?:${OPTION_KEYS.join("|")})=)`);
  const [endpoint = "", ...options] = rest.split(splitter);
  try {
    const url = new URL(endpoint);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("not http(s)");
  } catch {
    throw new Error(`--subscribe "${text}": "${endpoint}" is not an http(s) URL.`);
  }
  let name = defaultName;
  let includedEventTypes: string[] | undefined;
  let deliverySchema: EventSchema | undefined;
  let deadLetterContainer: string | undefined;
  let duplicates: number | undefined;
  for (const option of options) {
    const [key, value = ""] = [option.slice(0, option.indexOf("=")), option.slice(option.indexOf("=") + 1)];
    switch (key) {
      case "types":
        includedEventTypes = value.split(";").map((t) => t.trim()).filter((t) => t !== "");
        break;
      case "schema":
        if (/^(cloudevents?|cloudeventschemav1_0)$/i.test(value)) deliverySchema = "CloudEvent";
        else if (/^(eventgrid|eventgridschema)$/i.test(value)) deliverySchema = "EventGrid";
        else throw new Error(`--subscribe "${text}": schema must be eventgrid or cloudevents, not "${value}".`);
        break;
      case "name":
        name = value;
        break;
      case "deadletter":
        deadLetterContainer = value;
        break;
      case "duplicates":
        duplicates = Number(value);
        break;
    }
  }
  return validateSubscriptionSpec({
    name,
    source,
    endpoint,
    ...(includedEventTypes ? { includedEventTypes } : {}),
    ...(deliverySchema ? { deliverySchema } : {}),
    ...(deadLetterContainer ? { deadLetterContainer } : {}),
    ...(duplicates !== undefined ? { duplicates } : {}),
  });
}

/** Checks a spec from the CLI or the control endpoint; throws an Error naming the bad field. */
export function validateSubscriptionSpec(spec: SubscriptionSpec): SubscriptionSpec {
  if (!/^[A-Za-z0-9-]{3,64}$/.test(spec.name)) {
    throw new Error(`Subscription name "${spec.name}" is invalid: use 3-64 letters, digits or hyphens.`);
  }
  if (typeof spec.source !== "string" || spec.source.trim() === "") throw new Error("Subscription source (a topic or vault name) is required.");
  try {
    const url = new URL(spec.endpoint);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("not http(s)");
  } catch {
    throw new Error(`Subscription endpoint "${String(spec.endpoint)}" is not an http(s) URL.`);
  }
  if (spec.duplicates !== undefined && (!Number.isInteger(spec.duplicates) || spec.duplicates < 0 || spec.duplicates > 10)) {
    throw new Error(`Subscription duplicates must be an integer from 0 to 10, not ${String(spec.duplicates)}.`);
  }
  if (spec.deadLetterContainer !== undefined && !/^[a-z0-9](?:[a-z0-9]|-(?!-)){1,61}[a-z0-9]$/.test(spec.deadLetterContainer)) {
    throw new Error(`Dead-letter container "${spec.deadLetterContainer}" is not a valid blob container name.`);
  }
  if (spec.includedEventTypes !== undefined && !spec.includedEventTypes.every((t) => typeof t === "string" && t !== "")) {
    throw new Error("includedEventTypes must be non-empty strings.");
  }
  return spec;
}
