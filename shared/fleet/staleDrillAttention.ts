import { longestScheduleGapMs } from "../config/ncrontab";
import { formatDuration } from "../drill/measureObjectives";

/**
 * A drill older than the longest gap DRILL_SCHEDULE allows (plus a day for a drill that runs long) means the drill
 * timer did not fire: the drill evidence an auditor asks for is going stale.
 */
export function staleDrillAttention(finishedAt: string, schedule: string, now: Date): string | undefined {
  const ageMs = now.getTime() - Date.parse(finishedAt);
  const allowedMs = longestScheduleGapMs(schedule, now) + 86_400_000;
  if (!(ageMs > allowedMs)) return undefined;
  return `the last drill finished ${formatDuration(ageMs)} ago, but DRILL_SCHEDULE "${schedule}" runs one at least every ${formatDuration(allowedMs - 86_400_000)}. Fix: check that the function app and its drillTimer are running, or run "hsm-lifecycle drill".`;
}
