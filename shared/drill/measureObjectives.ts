/** Measured recovery objectives of one drill against the configured targets. */
export interface DrillObjectives {
  /** Drill start − end of the backup restored: the data a real disaster at drill start would have lost. */
  rpoMs: number;
  rpoTargetMs: number;
  rpoMet: boolean;
  /** Restore job start → verification done: how long DR took to become trustworthy. */
  rtoMs: number;
  rtoTargetMs: number;
  rtoMet: boolean;
  /** One sentence per breached objective (empty when both are met). */
  breaches: string[];
}

export interface ObjectiveTimes {
  drillStart: string;
  backupEnd: string;
  restoreStart: string;
  verificationDone: string;
}

/**
 * RPO and RTO from the four instants of a drill. Pure; all instants are ISO strings (activity inputs are JSON).
 * An instant out of order is a bug upstream, reported rather than turned into a negative duration.
 */
export function measureObjectives(times: ObjectiveTimes, targets: { rtoMs: number; rpoMs: number }): DrillObjectives {
  const at = (name: keyof ObjectiveTimes): number => {
    const t = Date.parse(times[name]);
    if (!Number.isFinite(t)) throw new RangeError(`${name} "${times[name]}" is not an ISO 8601 instant.`);
    return t;
  };
  const rpoMs = at("drillStart") - at("backupEnd");
  const rtoMs = at("verificationDone") - at("restoreStart");
  if (rpoMs < 0) throw new RangeError(`The backup ended (${times.backupEnd}) after the drill started (${times.drillStart}); a drill restores only backups that existed when it started.`);
  if (rtoMs < 0) throw new RangeError(`Verification finished (${times.verificationDone}) before the restore started (${times.restoreStart}).`);
  const rpoMet = rpoMs <= targets.rpoMs;
  const rtoMet = rtoMs <= targets.rtoMs;
  const breaches: string[] = [];
  if (!rpoMet) breaches.push(`RPO ${formatDuration(rpoMs)} exceeds the target ${formatDuration(targets.rpoMs)} (RPO_TARGET): the newest verified backup is too old. Fix: check that nightly backups succeed and verify.`);
  if (!rtoMet) breaches.push(`RTO ${formatDuration(rtoMs)} exceeds the target ${formatDuration(targets.rtoMs)} (RTO_TARGET): restore plus verification took too long.`);
  return { rpoMs, rpoTargetMs: targets.rpoMs, rpoMet, rtoMs, rtoTargetMs: targets.rtoMs, rtoMet, breaches };
}

/** `1h 02m 03.456s`-style text for people; reports also carry the raw milliseconds. */
export function formatDuration(ms: number): string {
  const sign = ms < 0 ? "-" : "";
  let rest = Math.abs(ms);
  const d = Math.floor(rest / 86_400_000);
  rest -= d * 86_400_000;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = (rest / 1000).toFixed(3).replace(/\.?0+$/, "");
  const parts: string[] = [];
  if (d > 0) parts.push(`${d}d`);
  if (h > 0 || d > 0) parts.push(`${h}h`);
  if (m > 0 || h > 0 || d > 0) parts.push(`${m}m`);
  parts.push(`${s}s`);
  return sign + parts.join(" ");
}
