import { formatDuration } from "../shared/drill/measureObjectives";
import type { StoredDrillReport } from "../shared/fleet/drillReports";
import { formatTable, indent } from "./formatTable";

/**
 * The drill report for a person at a terminal: verdict, pair, RTO and RPO against their targets, the backup
 * restored, every check, failures and warnings, and where the full report is. A drill that stopped before it
 * measured anything still shows the targets (from the settings) and says which checks did not run.
 */
export function renderDrillReport(stored: StoredDrillReport, targets: { rtoMs: number; rpoMs: number }, container: string): string {
  const r = stored.report;
  const o = r.objectives;
  const objective = (name: string, ms: number | undefined, targetMs: number, met: boolean | undefined): string =>
    ms === undefined ? `${name} not measured (target ${formatDuration(targetMs)})` : `${name} ${formatDuration(ms)} (target ${formatDuration(targetMs)}: ${met === true ? "met" : "BREACHED"})`;
  const out = [
    `Drill ${r.drillId}: ${r.verdict.toUpperCase()}`,
    `  ${r.kind} restore of ${r.primary.name} into ${r.target.name}, ${r.startedAt} → ${r.finishedAt}`,
    `  ${objective("RTO", o?.rtoMs, o?.rtoTargetMs ?? targets.rtoMs, o?.rtoMet)}; ${objective("RPO", o?.rpoMs, o?.rpoTargetMs ?? targets.rpoMs, o?.rpoMet)}`,
    `  backup restored: ${r.backup?.folder ?? "(none: the drill stopped before a restore)"}${r.keysVerified === undefined ? "" : `; ${r.keysVerified} keys verified on ${r.target.name}`}`,
    "",
    "Checks",
  ];
  if (r.checks.length === 0) out.push("  (none ran: the drill stopped before verification; see the failures)");
  else out.push(indent(formatTable(["RESULT", "CHECK", "DETAIL"], r.checks.map((c) => [c.passed ? "pass" : "FAIL", c.name, c.detail]))));
  if (r.failures.length > 0) out.push("", "Failures", ...r.failures.map((f) => `  - ${f}`));
  if ((r.warnings ?? []).length > 0) out.push("", "Needs attention", ...(r.warnings ?? []).map((w) => `  - ${w}`));
  out.push("", `Full report: ${container}/${stored.jsonBlob} (HTML: ${stored.htmlBlob}; "--html FILE" saves it)`);
  return out.join("\n");
}
