/** The two wire schemas Event Grid speaks. */
export type EventSchema = "EventGrid" | "CloudEvent";

/**
 * One accepted event as the emulator keeps it: the wire object (already stamped with `topic` /
 * `metadataVersion` for the Event Grid schema) plus what filtering and dead-lettering need.
 */
export interface EventRecord {
  readonly schema: EventSchema;
  readonly id: string;
  readonly type: string;
  readonly subject: string | undefined;
  readonly wire: Readonly<Record<string, unknown>>;
  /** Epoch ms at which the event entered Event Grid (dead-letter `publishTime`). */
  readonly publishedAt: number;
}

/** Event Grid's per-event and per-request limit for custom topics (1 MB). */
export const MAX_EVENT_BYTES = 1_048_576;
export const MAX_REQUEST_BYTES = 1_048_576;
