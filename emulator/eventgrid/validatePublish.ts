import { eventGridErrors } from "./eventGridError";
import { MAX_EVENT_BYTES, MAX_REQUEST_BYTES, type EventRecord, type EventSchema } from "./eventRecord";

type Json = Record<string, unknown>;

/**
 * Validates a publish request the way the Event Grid data plane does and returns the accepted events.
 * The schema follows the content type the SDK sends: `application/json` = Event Grid schema (an array),
 * `application/cloudevents-batch+json` = CloudEvents batch, `application/cloudevents+json` = one CloudEvent.
 * Throws EventGridError (400/413) naming the first offending event and field; nothing is accepted then.
 */
export function validatePublish(body: Buffer, contentType: string | undefined, topicId: string, nowMs: number): EventRecord[] {
  if (body.length > MAX_REQUEST_BYTES) {
    throw eventGridErrors.payloadTooLarge(
      `The request is ${body.length} bytes; the maximum size (${MAX_REQUEST_BYTES}) of an Event Grid publish request has been exceeded. Send fewer events per request.`,
    );
  }
  const mediaType = (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  let schema: EventSchema;
  let single = false;
  if (mediaType === "application/json" || mediaType === "") schema = "EventGrid";
  else if (mediaType === "application/cloudevents-batch+json") schema = "CloudEvent";
  else if (mediaType === "application/cloudevents+json") {
    schema = "CloudEvent";
    single = true;
  } else throw eventGridErrors.invalidContentType(mediaType);

  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch (error) {
    throw eventGridErrors.invalidJson(`The request body is not valid JSON: ${(error as Error).message}`);
  }
  const items: unknown[] = single ? [parsed] : Array.isArray(parsed) ? parsed : [];
  if (!single && !Array.isArray(parsed)) {
    throw eventGridErrors.invalidJson(
      schema === "EventGrid"
        ? "The request body must be a JSON array of events (Event Grid schema)."
        : "A application/cloudevents-batch+json body must be a JSON array of CloudEvents.",
    );
  }
  if (items.length === 0) throw eventGridErrors.invalidJson("The request contains no events; send at least one.");

  return items.map((item, index) => {
    if (typeof item !== "object" || item === null || Array.isArray(item)) {
      throw eventGridErrors.invalidJson(`Event at index ${index} is not a JSON object.`);
    }
    const size = Buffer.byteLength(JSON.stringify(item), "utf8");
    if (size > MAX_EVENT_BYTES) {
      throw eventGridErrors.payloadTooLarge(
        `Event at index ${index} is ${size} bytes; the maximum size (${MAX_EVENT_BYTES}) of an event has been exceeded.`,
      );
    }
    return schema === "EventGrid" ? acceptEventGridEvent(item as Json, index, topicId, nowMs) : acceptCloudEvent(item as Json, index, nowMs);
  });
}

function requiredString(event: Json, field: string, index: number): string {
  const value = event[field];
  if (value === undefined || value === null) {
    throw eventGridErrors.invalidJson(`Required property '${field}' was not found in the event at index ${index}.`);
  }
  if (typeof value !== "string" || value.trim() === "") {
    throw eventGridErrors.invalidJson(`Property '${field}' of the event at index ${index} must be a non-empty string.`);
  }
  return value;
}

function optionalString(event: Json, field: string, index: number): string | undefined {
  const value = event[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw eventGridErrors.invalidJson(`Property '${field}' of the event at index ${index} must be a string.`);
  return value;
}

function checkTime(value: string, field: string, index: number): void {
  // RFC 3339 with a zone, as the service requires; Date.parse alone would accept "5/6/2020".
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(value) || Number.isNaN(Date.parse(value))) {
    throw eventGridErrors.invalidJson(`Property '${field}' of the event at index ${index} is not a valid RFC 3339 date-time: "${value}".`);
  }
}

function acceptEventGridEvent(event: Json, index: number, topicId: string, nowMs: number): EventRecord {
  const id = requiredString(event, "id", index);
  const subject = requiredString(event, "subject", index);
  const type = requiredString(event, "eventType", index);
  const eventTime = requiredString(event, "eventTime", index);
  checkTime(eventTime, "eventTime", index);
  optionalString(event, "dataVersion", index);
  const topic = optionalString(event, "topic", index);
  // The service only lets a publisher name its own topic; anything else is a forgery attempt.
  if (topic !== undefined && topic !== "" && topic.toLowerCase() !== topicId.toLowerCase()) {
    throw eventGridErrors.invalidJson(`Property 'topic' of the event at index ${index} must be omitted or equal ${topicId}.`);
  }
  const metadataVersion = optionalString(event, "metadataVersion", index);
  if (metadataVersion !== undefined && metadataVersion !== "1") {
    throw eventGridErrors.invalidJson(`Property 'metadataVersion' of the event at index ${index} must be "1".`);
  }
  const wire: Json = { ...event, topic: topicId, dataVersion: event["dataVersion"] ?? "", metadataVersion: "1" };
  return { schema: "EventGrid", id, type, subject, wire, publishedAt: nowMs };
}

function acceptCloudEvent(event: Json, index: number, nowMs: number): EventRecord {
  const specversion = requiredString(event, "specversion", index);
  if (specversion !== "1.0") {
    throw eventGridErrors.invalidJson(`Property 'specversion' of the event at index ${index} must be "1.0", not "${specversion}".`);
  }
  const id = requiredString(event, "id", index);
  requiredString(event, "source", index);
  const type = requiredString(event, "type", index);
  const time = optionalString(event, "time", index);
  if (time !== undefined) checkTime(time, "time", index);
  const subject = optionalString(event, "subject", index);
  if (event["data"] !== undefined && event["data_base64"] !== undefined) {
    throw eventGridErrors.invalidJson(`The event at index ${index} has both 'data' and 'data_base64'; send only one.`);
  }
  for (const name of Object.keys(event)) {
    // CloudEvents 1.0: attribute names are lower-case letters and digits (data_base64 is the one exception).
    if (name !== "data_base64" && !/^[a-z0-9]+$/.test(name)) {
      throw eventGridErrors.invalidJson(`Attribute '${name}' of the event at index ${index} is not a valid CloudEvents attribute name.`);
    }
  }
  return { schema: "CloudEvent", id, type, subject, wire: { ...event }, publishedAt: nowMs };
}
