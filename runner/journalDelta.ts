import type { HistoryEvent } from './historyEvents.js';
import type { InstanceRecord } from './instanceStore.js';

/** What one commit changed in one instance: appended history, inbox consumed/appended, changed fields. */
export interface InstanceDelta {
  id: string;
  /** History events appended. */
  h?: HistoryEvent[];
  /** Inbox events consumed from the front, then `i` appended. */
  c?: number;
  i?: HistoryEvent[];
  /** Fields whose value changed. */
  s?: Partial<Record<ScalarField, unknown>>;
}

const scalarFields = ['name', 'executionId', 'input', 'output', 'customStatus', 'runtimeStatus', 'createdTime', 'lastUpdatedTime', 'parent', 'parentNotified'] as const;
type ScalarField = (typeof scalarFields)[number];

/**
 * What the journal holds for one instance, by reference: the host only ever appends to an instance's history and
 * inbox arrays, or replaces them with arrays that keep the same event objects (a consumed inbox is a slice of the
 * old one). Comparing references at the ends is therefore enough to find what is new, without walking or copying
 * either array: a commit costs what it adds, not what the instance already holds.
 */
export interface JournalMark {
  record: InstanceRecord;
  history: HistoryEvent[];
  historyLength: number;
  inbox: HistoryEvent[];
  inboxLength: number;
  scalars: Record<ScalarField, string>;
}

export function markOf(record: InstanceRecord): JournalMark {
  return { record, history: record.history, historyLength: record.history.length, inbox: record.inbox, inboxLength: record.inbox.length, scalars: scalarsOf(record) };
}

/** The delta since `mark`, or undefined when the change is not an append (a reset: write the whole record). */
export function deltaSince(mark: JournalMark | undefined, record: InstanceRecord): InstanceDelta | undefined {
  if (!mark || mark.record !== record) return undefined;
  const delta: InstanceDelta = { id: record.instanceId };

  const h = record.history;
  if (h.length < mark.historyLength) return undefined;
  if (mark.historyLength > 0 && (h[0] !== mark.history[0] || h[mark.historyLength - 1] !== mark.history[mark.historyLength - 1])) return undefined;
  if (h.length > mark.historyLength) delta.h = h.slice(mark.historyLength);

  const inbox = record.inbox;
  const old = mark.inbox;
  let consumed = 0;
  if (inbox !== old) {
    // A new array: what is left of the old inbox (a suffix of it), then new events.
    const first = inbox.length === 0 ? -1 : old.indexOf(inbox[0] as HistoryEvent, 0);
    consumed = first < 0 || first >= mark.inboxLength ? mark.inboxLength : first;
    const kept = mark.inboxLength - consumed;
    if (kept > 0 && inbox[kept - 1] !== old[mark.inboxLength - 1]) return undefined;
    if (inbox.length < kept) return undefined;
    if (inbox.length > kept) delta.i = inbox.slice(kept);
  } else {
    if (inbox.length < mark.inboxLength) return undefined;
    if (inbox.length > mark.inboxLength) delta.i = inbox.slice(mark.inboxLength);
  }
  if (consumed > 0) delta.c = consumed;

  const now = scalarsOf(record);
  for (const f of scalarFields) {
    if (now[f] !== mark.scalars[f]) (delta.s ??= {})[f] = record[f];
  }
  return delta;
}

/** Applies a journaled delta to the record it was taken from (loading a journal). */
export function applyDelta(record: InstanceRecord, delta: InstanceDelta): void {
  if (delta.h) record.history.push(...delta.h);
  if (delta.c) record.inbox.splice(0, delta.c);
  if (delta.i) record.inbox.push(...delta.i);
  if (delta.s) Object.assign(record, delta.s);
}

function scalarsOf(r: InstanceRecord): Record<ScalarField, string> {
  const out = {} as Record<ScalarField, string>;
  for (const f of scalarFields) {
    const v = r[f];
    out[f] = typeof v === 'string' ? `s${v}` : JSON.stringify(v) ?? 'undefined';
  }
  return out;
}
