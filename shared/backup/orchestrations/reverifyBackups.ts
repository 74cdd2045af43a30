/**
 * Orchestration `reverifyBackups`: the scheduled re-verification of every stored backup of one HSM (instance id
 * `reverify:{hsm}:{time}`, started by the re-verification timer under the lock `exclusive:reverify:{hsm}`).
 *
 *   list the HSM's authenticated backups → re-verify each (one activity per backup) → per failure:
 *   BackupFailed with errorCode BackupIntegrityFailed + audit record
 *
 * A failure marks the backup unverified (the activity removes its verified mark), so from then on drills and
 * retention pass it over. Deterministic: time from `context.df.currentUtcDateTime`, one try/catch per task.
 */
import type { OrchestrationContext, RetryOptions, Task } from "durable-functions";
import type { BackupFailedData } from "../../events/lifecycleEventData";
import { formatFailureMessage } from "../../errors/lifecycleError";
import { parseActivityFailure } from "../../errors/parseActivityFailure";
import { instanceInputProblem } from "../../instances/resolveConfiguredInstance";
import { callActivity } from "../../durable/callActivity";
import { activityNames } from "../../names";
import type { BackupListing } from "../listBackupRecords";
import type { ReverifyBackupOutput } from "../activities/reverify";
import type { RecordBackupOutcomeOutput } from "../activities/audit";

export interface ReverifyBackupsInput {
  hsmName: string;
}

export interface ReverifyBackupsResult {
  hsmName: string;
  checked: number;
  passed: string[];
  /** Backups whose re-verification failed (named `failures` so `npm start --once` fails the cycle on them). */
  failures: Array<{ folder: string; at: string; detail: string; recorded: RecordBackupOutcomeOutput | { error: string } }>;
  skipped: Array<{ folder: string; detail: string }>;
  /** Backups whose re-verification could not run (storage unreachable after retries): not judged either way. */
  errors: Array<{ folder: string; error: string }>;
}

export function reverifyBackupsOrchestrator(retry: RetryOptions): (context: OrchestrationContext) => Generator<Task, ReverifyBackupsResult, unknown> {
  return function* reverifyBackups(context: OrchestrationContext): Generator<Task, ReverifyBackupsResult, unknown> {
    const raw = (context.df.getInput() ?? {}) as Partial<ReverifyBackupsInput>;
    const refused = typeof raw.hsmName !== "string" || raw.hsmName === "" ? "reverifyBackups needs {hsmName}." : instanceInputProblem(raw.hsmName, "reverifyBackups");
    if (refused !== undefined) throw new Error(formatFailureMessage("BadParameter", `${refused} Fix: let the re-verification timer start it (it builds the input from HSMS).`));
    const hsmName = raw.hsmName as string;
    const runId = context.df.instanceId;
    context.df.setCustomStatus({ stage: "list", hsmName });
    const listed = yield* callActivity<BackupListing[]>(context, retry, activityNames.listBackups, { hsmName });
    // Retiring backups are being deleted by retention: their blobs going missing is not damage.
    const folders = listed.filter((b) => b.retiring !== true).map((b) => b.folder);
    const result: ReverifyBackupsResult = { hsmName, checked: 0, passed: [], failures: [], skipped: [], errors: [] };
    for (const folder of folders) {
      context.df.setCustomStatus({ stage: "reverify", hsmName, folder, done: result.checked, of: folders.length });
      let r: ReverifyBackupOutput;
      try {
        r = yield* callActivity<ReverifyBackupOutput>(context, retry, activityNames.reverifyBackup, { folder });
      } catch (e) {
        const f = parseActivityFailure(e);
        result.errors.push({ folder, error: formatFailureMessage(f.code, f.detail) });
        continue;
      }
      result.checked++;
      if (r.result === "passed") result.passed.push(folder);
      else if (r.result === "skipped") result.skipped.push({ folder, detail: r.detail });
      else {
        const jobId = listed.find((b) => b.folder === folder)?.jobId ?? null;
        const data: BackupFailedData = {
          hsmName,
          jobId,
          errorCode: "BackupIntegrityFailed",
          message: formatFailureMessage("BackupIntegrityFailed", `Re-verification of the stored backup ${folder}: ${r.detail}`).slice(0, 2048),
          // One event per backup and run, so subscribers can dedupe a replayed activity.
          runId: `${runId}:${folder}`,
          // The orchestration's time (as a failed nightly backup's): the instant the run saw it, on the same clock
          // as its schedule, so a record of it falls in the night it belongs to.
          failedAt: context.df.currentUtcDateTime.toISOString(),
        };
        let recorded: RecordBackupOutcomeOutput | { error: string };
        try {
          recorded = yield* callActivity<RecordBackupOutcomeOutput>(context, undefined, activityNames.recordBackupOutcome, {
            outcome: "failed",
            night: data.failedAt.slice(0, 10),
            data,
            details: { stage: "reverify", folder },
          });
        } catch (e) {
          recorded = { error: parseActivityFailure(e).detail };
        }
        result.failures.push({ folder, at: r.at, detail: r.detail, recorded });
      }
    }
    context.df.setCustomStatus({ stage: "done", hsmName, checked: result.checked, failed: result.failures.length });
    return result;
  };
}
