/** The waits before the first retries of a lost audit write: a blip, a short outage, a long one, a bad night. */
export const AUDIT_RETRY_FIRST_WAITS_MS: readonly number[] = [5 * 60_000, 30 * 60_000, 2 * 3_600_000, 6 * 3_600_000];
/** After the first waits, one retry every twelve hours… */
export const AUDIT_RETRY_LATER_WAIT_MS = 12 * 3_600_000;
/** …until three days after the failure (a long weekend's outage), the last retry at exactly that mark. */
export const AUDIT_RETRY_WINDOW_MS = 72 * 3_600_000;

/**
 * When retry `attempt` (1-based) of an audit write that failed at `failedAt` is due, or undefined when the
 * schedule has ended (give up). Due times are counted from the failure, not from the previous attempt, so a slow
 * attempt does not stretch the schedule; a pure function of its inputs, so an orchestration replays it the same.
 */
export function auditRetryDueAt(failedAt: Date, attempt: number): Date | undefined {
  if (!Number.isInteger(attempt) || attempt < 1 || Number.isNaN(failedAt.getTime())) return undefined;
  const offsets = auditRetryOffsetsMs();
  const offset = offsets[attempt - 1];
  return offset === undefined ? undefined : new Date(failedAt.getTime() + offset);
}

/** Every retry's offset from the failure: the first waits summed, then every twelve hours, the last at 72 h. */
export function auditRetryOffsetsMs(): number[] {
  const offsets: number[] = [];
  let at = 0;
  for (const wait of AUDIT_RETRY_FIRST_WAITS_MS) offsets.push((at += wait));
  while (at + AUDIT_RETRY_LATER_WAIT_MS < AUDIT_RETRY_WINDOW_MS) offsets.push((at += AUDIT_RETRY_LATER_WAIT_MS));
  if (at < AUDIT_RETRY_WINDOW_MS) offsets.push(AUDIT_RETRY_WINDOW_MS);
  return offsets;
}
