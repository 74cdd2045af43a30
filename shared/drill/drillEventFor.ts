import type { DrillCompletedData, DrillFailedData } from "../events/lifecycleEventData";
import { LifecycleEventType } from "../events/lifecycleEventTypes";
import type { DrillReport } from "./drillReport";

export type DrillEvent =
  | { type: typeof LifecycleEventType.DrillCompleted; data: DrillCompletedData }
  | { type: typeof LifecycleEventType.DrillFailed; data: DrillFailedData };

/**
 * The `DrillCompleted` / `DrillFailed` event for a finished report (pure; the orchestration publishes it with
 * `publishLifecycleEvent`). The failure stage follows how far the drill got; the code is the first `[Code]` of
 * its failures (`VerificationFailed` for a failed check or a breached objective).
 */
export function drillEventFor(report: DrillReport, runId: string): DrillEvent {
  if (report.verdict === "passed" && report.objectives !== undefined && report.backup !== undefined) {
    return {
      type: LifecycleEventType.DrillCompleted,
      data: {
        primaryHsm: report.primary.name,
        drHsm: report.target.name,
        folderUrl: report.backup.folderUrl,
        keysVerified: report.keysVerified ?? 0,
        rtoSeconds: report.objectives.rtoMs / 1000,
        rpoSeconds: report.objectives.rpoMs / 1000,
        runId,
        startedAt: report.startedAt,
        completedAt: report.finishedAt,
      },
    };
  }
  const stage: DrillFailedData["stage"] = report.backup === undefined ? "selectBackup" : report.restore === undefined || report.restore.status !== "Succeeded" ? "restore" : "verify";
  const coded = report.failures.map((f) => /^\[([A-Za-z][A-Za-z0-9]{1,63})\]/.exec(f)?.[1]).find((c) => c !== undefined);
  const message = (report.failures.join(" | ") || "The drill did not complete.").slice(0, 2048);
  return {
    type: LifecycleEventType.DrillFailed,
    data: { primaryHsm: report.primary.name, drHsm: report.target.name, stage, errorCode: coded ?? "VerificationFailed", message, runId, failedAt: report.finishedAt },
  };
}
