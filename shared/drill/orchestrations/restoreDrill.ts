import type { OrchestrationContext, OrchestrationHandler, RetryOptions, Task } from "durable-functions";
import type { CheckDrillSafetyOutput } from "../activities/checkSafety";
import type { FindLatestVerifiedBackupOutput, FoundVerifiedBackup } from "../activities/findLatestVerifiedBackup";
import type { RestoreStatus } from "../activities/getRestoreStatus";
import type { RecordDrillOutcomeInput, RecordDrillOutcomeOutput } from "../activities/recordOutcome";
import type { RunCryptoProbesOutput } from "../activities/runCryptoProbes";
import type { StartRestoreOutput } from "../activities/startRestore";
import type { StartDrillTargetBackupOutput } from "../activities/startTargetBackup";
import type { VerifyRestoredInventoryOutput } from "../activities/verifyRestoredInventory";
import type { VerifyRoleAssignmentsOutput } from "../activities/verifyRoleAssignments";
import type { WriteDrillReportInput, WriteDrillReportOutput } from "../activities/writeReport";
import type { AdminJobSnapshot } from "../adminJobSnapshot";
import type { DrillCheck } from "../drillReport";
import { formatFailureMessage } from "../../errors/lifecycleError";
import { parseActivityFailure } from "../../errors/parseActivityFailure";
import { activityNames } from "../../names";
import { pollAdminJob } from "./restoreDrillPolling";
import type { DrillKind, DrillStage, RestoreDrillInput, RestoreDrillOutput } from "../types";
import { callActivity } from "../../durable/callActivity";
import type { ReapplyDrRolesOutput } from "../activities/reapplyDrRoles";

type Gen<T> = Generator<Task, T, unknown>;

/** What the drill has learned so far; becomes the report input. */
interface DrillState {
  report: Omit<WriteDrillReportInput, "finishedAt">;
  failure?: string;
  stoppedAt?: DrillStage;
  verificationDone?: string;
}

/**
 * The restore drill for one (primary, DR) pair, full or selective (one key). Order matters and each step
 * guards the next: the interlocks run before ANY call that writes; the newest verified backup gives the RPO;
 * DR backs itself up first (the HSM's restore rule, and DR's way back); the HSM's pre-restore check (same
 * security domain, storage readable) runs before anything destructive; the restore is monitored on durable
 * timers; then inventory, cross-HSM crypto probes and role assignments are verified and RTO measured. Every
 * drill that started writes a report (JSON + HTML) and an audit record and publishes DrillCompleted /
 * DrillFailed; a failed drill is an outcome (the output's verdict), not an orchestration failure.
 *
 * Each step is one retrying activity call; try/catch wraps single calls only (never a fail-fast Task.all).
 * The retry options come from the registration (functions/drill.ts) so this module imports no SDK value.
 */
export function restoreDrill(kind: DrillKind, retry: RetryOptions): OrchestrationHandler {
  return function* (context: OrchestrationContext): Gen<RestoreDrillOutput> {
    const input = readInput(context.df.getInput(), kind);
    const drillId = context.df.instanceId;
    const startedAt = context.df.currentUtcDateTime.toISOString();
    const state: DrillState = {
      report: {
        drillId,
        kind,
        primary: { name: input.primary, url: "" },
        target: { name: input.target, url: "" },
        startedAt,
        checks: [],
        singleKeyGets: 0,
      },
    };
    yield* runStages(context, retry, input, state);

    setStage(context, "report", input);
    const finishedAt = state.verificationDone ?? context.df.currentUtcDateTime.toISOString();
    const reportInput: WriteDrillReportInput = { ...state.report, finishedAt };
    if (state.failure !== undefined) reportInput.failure = state.failure;
    // A report that cannot be written fails the orchestration: an unrecorded drill proves nothing.
    const written = yield* callActivity<WriteDrillReportOutput>(context, retry, activityNames.writeDrillReport, reportInput);

    setStage(context, "record", input);
    const recorded = yield* recordOutcome(context, retry, { drillId, jsonBlob: written.jsonBlob, trigger: input.trigger });

    setStage(context, "done", input);
    const output: RestoreDrillOutput = { drillId, kind, verdict: written.verdict, failures: written.failures, reportJson: written.jsonBlob, reportHtml: written.htmlBlob, recorded };
    if (state.stoppedAt !== undefined) output.stoppedAt = state.stoppedAt;
    if (written.rtoMs !== undefined) output.rtoMs = written.rtoMs;
    if (written.rpoMs !== undefined) output.rpoMs = written.rpoMs;
    if (state.report.warnings !== undefined) output.warnings = state.report.warnings;
    return output;
  };
}

/**
 * `recordDrillOutcome` with durable retries; when they run out on anything a later write can fix (not a conflicting
 * record, not a bad report), one last call hands the audit record to `auditRecordRetry`. Publishing and auditing
 * never change the verdict; a failure is kept in the output for operators.
 */
function* recordOutcome(context: OrchestrationContext, retry: RetryOptions, recordInput: RecordDrillOutcomeInput): Gen<RestoreDrillOutput["recorded"]> {
  let error: string;
  try {
    const r = yield* callActivity<RecordDrillOutcomeOutput>(context, retry, activityNames.recordDrillOutcome, recordInput);
    return { event: r.event, audit: true };
  } catch (e) {
    const f = parseActivityFailure(e);
    error = formatFailureMessage(f.code, f.detail);
    if (f.code === "Conflict" || f.code === "BadParameter") return { error };
  }
  try {
    const r = yield* callActivity<RecordDrillOutcomeOutput>(context, undefined, activityNames.recordDrillOutcome, { ...recordInput, handOff: true });
    return r.auditRetry === undefined ? { event: r.event, audit: true } : { event: r.event, audit: false, error, auditRetry: { kind: r.auditRetry.kind, instanceId: r.auditRetry.instanceId } };
  } catch {
    // The hand-off failed as well (its start logged why): the first failure is what operators need.
    return { error };
  }
}

function* runStages(context: OrchestrationContext, retry: RetryOptions, input: RestoreDrillInput, state: DrillState): Gen<void> {
  const pair = { primary: input.primary, target: input.target };
  const call = <T>(name: string, activityInput: unknown): Generator<Task, T, unknown> => callActivity<T>(context, retry, name, activityInput);
  const stop = (stage: DrillStage, failure: string): void => {
    state.failure = failure;
    state.stoppedAt = stage;
  };
  const failed = (e: unknown): string => {
    const f = parseActivityFailure(e);
    return formatFailureMessage(f.code, f.detail);
  };
  const poll = { pollIntervalMs: input.pollIntervalMs, timeoutMs: input.adminJobTimeoutMs };

  // 1. Interlocks: reads identities only. A refusal ends the drill before any write. It comes back as a
  // value (an expected outcome), so it is reported at once; only transient failures throw and are retried.
  setStage(context, "interlocks", input);
  try {
    const safety = yield* call<CheckDrillSafetyOutput>(activityNames.checkDrillSafety, pair);
    if (safety.kind === "refused") return stop("interlocks", formatFailureMessage(safety.code, safety.reason));
    state.report.primary.url = safety.primaryUrl;
    state.report.target.url = safety.targetUrl;
  } catch (e) {
    return stop("interlocks", failed(e));
  }

  // 2. The newest verified backup of the primary (RPO = drill start − its end).
  setStage(context, "selectBackup", input);
  let chosen: FoundVerifiedBackup;
  try {
    const found = yield* call<FindLatestVerifiedBackupOutput>(activityNames.findLatestVerifiedBackup, { primary: input.primary, drillStart: state.report.startedAt, drillId: state.report.drillId, checkBlobs: true });
    if (found.kind === "noVerifiedBackup") return stop("selectBackup", formatFailureMessage(found.integrityFailed === true ? "BackupIntegrityFailed" : "NoVerifiedBackup", found.reason));
    chosen = found;
  } catch (e) {
    return stop("selectBackup", failed(e));
  }
  state.report.backup = { folder: chosen.folder, folderUrl: chosen.folderUrl, jobId: chosen.jobId, startTime: chosen.startTime, endTime: chosen.endTime };
  if (chosen.fallback !== undefined) {
    // Not a failure: the drill proves the older backup restores (its RPO is measured from it), but a newer one
    // failed its hash check or its last re-verification, which a person must look at.
    state.report.fallback = chosen.fallback;
    const why = chosen.fallback.rejected.map((r) => `${r.folder}: ${r.reason}`).join("; ");
    state.report.warnings = [...(state.report.warnings ?? []), `Fell back to the older backup ${chosen.folder}: newer backups were not restored (${why}). Fix: find out who can write the backup container; the next nightly backup gives a new recovery point.`];
  }

  // 3. DR backs itself up first: the HSM refuses a restore without a full self-backup in the last 30 minutes.
  setStage(context, "targetBackup", input);
  try {
    const started = yield* call<StartDrillTargetBackupOutput>(activityNames.startDrillTargetBackup, pair);
    const result = yield* pollAdminJob<AdminJobSnapshot>(context, retry, activityNames.getDrillTargetBackupStatus, { ...pair, jobId: started.jobId }, poll);
    if (result.kind === "timedOut") return stop("targetBackup", timedOut("DR's own backup", started.jobId, result.waitedMs));
    const s = result.snapshot;
    if (s.status !== "Succeeded" || s.folderUrl === undefined || s.endTime === undefined) {
      return stop("targetBackup", formatFailureMessage("JobFailed", `DR's own full backup (job ${s.jobId}) ended ${s.status}: ${s.error?.message ?? "no folder reported"}. Nothing was restored. Fix: check the DR HSM's access to the backup container, then rerun the drill.`));
    }
    state.report.targetBackup = { folderUrl: s.folderUrl, jobId: s.jobId, endTime: s.endTime };
  } catch (e) {
    return stop("targetBackup", failed(e));
  }

  // 4. The HSM's pre-restore check (security domain, storage access): changes nothing.
  setStage(context, "preRestoreCheck", input);
  try {
    const pre = yield* call<{ jobId: string }>(activityNames.preRestoreCheck, { ...pair, folderUrl: chosen.folderUrl });
    const result = yield* pollAdminJob<RestoreStatus>(context, retry, activityNames.getRestoreStatus, { ...pair, jobId: pre.jobId }, poll);
    if (result.kind === "timedOut") return stop("preRestoreCheck", timedOut("the pre-restore check", pre.jobId, result.waitedMs));
    if (result.snapshot.status !== "Succeeded") return stop("preRestoreCheck", restoreFailure("The pre-restore check", result.snapshot));
  } catch (e) {
    return stop("preRestoreCheck", failed(e));
  }

  // 5. The destructive step (the activity runs both interlocks again right before it), monitored on timers.
  setStage(context, "restore", input);
  let restoreStart: string;
  try {
    const started =
      input.keyName === undefined
        ? yield* call<StartRestoreOutput>(activityNames.startRestore, { ...pair, folderUrl: chosen.folderUrl })
        : yield* call<StartRestoreOutput>(activityNames.startSelectiveRestore, { ...pair, folderUrl: chosen.folderUrl, keyName: input.keyName });
    const result = yield* pollAdminJob<RestoreStatus>(context, retry, activityNames.getRestoreStatus, { ...pair, jobId: started.jobId }, poll);
    if (result.kind === "timedOut") {
      state.report.restore = { jobId: started.jobId, status: "TimedOut", startTime: started.startTime ?? state.report.startedAt, ...keyOf(input) };
      return stop("restore", timedOut("the restore", started.jobId, result.waitedMs));
    }
    const s = result.snapshot;
    // RTO starts at the HSM's own job start (its timestamps are what an auditor compares against).
    restoreStart = s.startTime ?? started.startTime ?? context.df.currentUtcDateTime.toISOString();
    state.report.restore = { jobId: s.jobId, status: s.status, startTime: restoreStart, ...(s.endTime === undefined ? {} : { endTime: s.endTime }), ...keyOf(input) };
    if (s.status !== "Succeeded") return stop("restore", restoreFailure(input.keyName === undefined ? "The restore" : `The selective restore of ${input.keyName}`, s));
  } catch (e) {
    return stop("restore", failed(e));
  }

  // 6. Verification: each step on its own, so one that cannot run becomes a failed check in the report.
  setStage(context, "verify", input);
  const checks: DrillCheck[] = state.report.checks;
  const finished: string[] = [];
  const folder = chosen.folder;
  const only = input.keyName === undefined ? {} : { keyName: input.keyName };
  try {
    const inv = yield* call<VerifyRestoredInventoryOutput>(activityNames.verifyRestoredInventory, { ...pair, folder, ...only });
    checks.push(...inv.checks);
    state.report.keysVerified = inv.keysVerified;
    finished.push(inv.finishedAt);
  } catch (e) {
    checks.push({ name: "inventory", passed: false, detail: `The inventory could not be verified: ${failed(e)}` });
  }
  try {
    const probes = yield* call<RunCryptoProbesOutput>(activityNames.runCryptoProbes, { ...pair, folder, ...only });
    checks.push(...probes.checks);
    state.report.singleKeyGets += probes.singleKeyGets;
    finished.push(probes.finishedAt);
  } catch (e) {
    checks.push({ name: "cryptoProbes", passed: false, detail: `The crypto probes could not run: ${failed(e)}` });
  }
  if (input.keyName === undefined) {
    // Only a full restore replaces DR's role assignments with the backup's.
    let preStewardWarnings: string[] = [];
    try {
      const roles = yield* call<VerifyRoleAssignmentsOutput>(activityNames.verifyRoleAssignments, { ...pair, folder });
      checks.push(roles.check);
      // Older activity versions (histories written before warnings existed) return none.
      preStewardWarnings = roles.warnings ?? [];
      finished.push(roles.finishedAt);
    } catch (e) {
      checks.push({ name: "roleAssignments", passed: false, detail: `The role assignments could not be compared: ${failed(e)}` });
    }
    // After the comparison (the restored state is what it checks), the DR steward puts the drill's DR-only role
    // back; its readiness check replaces the one made before it. A steward failure is a warning: this drill
    // passed, but the next one would stop at DR's own backup.
    let warnings: string[];
    try {
      warnings = (yield* call<ReapplyDrRolesOutput>(activityNames.reapplyDrRoles, pair)).warnings;
    } catch (e) {
      warnings = [`The DR steward could not re-apply the drill's DR role: ${failed(e)}`, ...preStewardWarnings];
    }
    if (warnings.length > 0) state.report.warnings = [...(state.report.warnings ?? []), ...warnings];
  }
  // RTO ends when the last verification step finished (activity clocks, like the HSM's job timestamps).
  const verificationDone = finished.length > 0 ? finished.sort().at(-1)! : context.df.currentUtcDateTime.toISOString();
  state.verificationDone = verificationDone < restoreStart ? restoreStart : verificationDone;
  state.report.times = { drillStart: state.report.startedAt, backupEnd: chosen.endTime, restoreStart, verificationDone: state.verificationDone };
}

function keyOf(input: RestoreDrillInput): { keyName?: string } {
  return input.keyName === undefined ? {} : { keyName: input.keyName };
}

function timedOut(what: string, jobId: string, waitedMs: number): string {
  return formatFailureMessage("JobTimedOut", `${what} (job ${jobId}) was still running after ${Math.round(waitedMs / 1000)} s (ADMIN_JOB_TIMEOUT). Fix: check the HSM's admin job, raise ADMIN_JOB_TIMEOUT if the HSM is large, then rerun the drill.`);
}

function restoreFailure(what: string, s: RestoreStatus): string {
  if (s.failure !== undefined) return s.failure.message;
  return formatFailureMessage("JobFailed", `${what} (job ${s.jobId}) ended ${s.status}: ${s.error?.message ?? "no details"}.`);
}

function setStage(context: OrchestrationContext, stage: DrillStage, input: RestoreDrillInput): void {
  context.df.setCustomStatus({ stage, primary: input.primary, target: input.target, ...keyOf(input) });
}

/** The starter validates too; this keeps a hand-started instance from running with a half-built input. */
function readInput(raw: unknown, kind: DrillKind): RestoreDrillInput {
  const i = (raw ?? {}) as Partial<RestoreDrillInput>;
  const problems: string[] = [];
  if (typeof i.primary !== "string" || i.primary === "") problems.push("primary (HSM name) is missing");
  if (typeof i.target !== "string" || i.target === "") problems.push("target (drill target name) is missing");
  if (kind === "selective" && (typeof i.keyName !== "string" || i.keyName === "")) problems.push("keyName is required for a selective drill");
  if (kind === "full" && i.keyName !== undefined) problems.push("keyName is only for a selective drill");
  if (typeof i.pollIntervalMs !== "number" || typeof i.adminJobTimeoutMs !== "number" || i.adminJobTimeoutMs <= 0) problems.push("pollIntervalMs and adminJobTimeoutMs must be numbers");
  if (typeof i.objectives?.rtoMs !== "number" || typeof i.objectives.rpoMs !== "number") problems.push("objectives {rtoMs, rpoMs} are missing");
  if (problems.length > 0) {
    throw new Error(formatFailureMessage("BadParameter", `The drill input is incomplete: ${problems.join("; ")}. Fix: start drills through POST /api/drills or the drill timer, which build the input from the app settings.`));
  }
  return { ...(i as RestoreDrillInput), trigger: i.trigger === "http" ? "http" : "timer" };
}
