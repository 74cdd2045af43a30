/**
 * Orchestration `hsmBackup`: one full backup of one HSM for one night, instance id `backup:{hsm}:{night}`.
 *
 *   [wait until scheduledFor] → pre-backup check (polled) → start or adopt the job → monitor with durable
 *   timers → manifest → verify → [copy] → retention → BackupCompleted + audit
 *
 * A failed JOB is started again after a growing backoff (`jobAttempts`); transient activity failures are
 * retried by durable (`callActivityWithRetry`). Beyond those, a transient failure (storage, HSM 429/5xx,
 * network, a failed job) is waited out on durable timers with backoff until the run's deadline
 * (`deadlineMs`, from BACKUP_DEADLINE), so one outage does not cost the night. When nothing more can help,
 * BackupFailed + audit are recorded and the orchestration fails with `[Code] cause. Fix: …` (and how long
 * it was retried), so summaries and monitors see it.
 *
 * Deterministic: imports only names, types, errors and pure decisions; time comes from
 * `context.df.currentUtcDateTime`; every try/catch wraps ONE task, never a `Task.all`.
 */
import type { OrchestrationContext, OrchestrationHandler, RetryOptions, Task } from "durable-functions";
import type { BackupCompletedData, BackupFailedData } from "../../events/lifecycleEventData";
import type { ErrorCode } from "../../errors/errorCode";
import { formatFailureMessage } from "../../errors/lifecycleError";
import { parseActivityFailure } from "../../errors/parseActivityFailure";
import { instanceInputProblem } from "../../instances/resolveConfiguredInstance";
import { nextBackupPoll, type PolledJobStatus } from "../nextBackupPoll";
import { activityNames } from "../../names";
import type { PreBackupCheckOutput } from "../activities/preCheck";
import type { StartBackupOutput } from "../activities/start";
import type { WriteBackupManifestOutput } from "../activities/manifestWrite";
import type { VerifyBackupOutput } from "../activities/verify";
import type { CopyBackupOutput } from "../activities/copy";
import type { ApplyBackupRetentionOutput } from "../activities/retentionApply";
import type { RecordBackupOutcomeInput, RecordBackupOutcomeOutput } from "../activities/audit";
import type { ActivityRetryPolicy, BackupRunInput } from "../runInput";
import { callActivity } from "../../durable/callActivity";
import { backupDeadline, isTransientBackupFailure, nextRecoveryAttempt } from "../backupDeadline";

/** Builds durable's RetryOptions (an SDK class, so the registration passes the constructor in). */
export type RetryOptionsFactory = (policy: ActivityRetryPolicy) => RetryOptions;

export interface BackupFailure {
  code: ErrorCode;
  /** `[Code] cause. Fix: …` */
  message: string;
  stage: "preCheck" | "start" | "job" | "manifest" | "verify" | "copy";
}

export interface BackupRunResult {
  kind: "completed";
  hsmName: string;
  night: string;
  jobId: string;
  adopted: boolean;
  /** Backup jobs started (or adopted) by this run. */
  attempts: number;
  /** Status polls of the job that succeeded. */
  polls: number;
  folder: string;
  folderUrl: string;
  manifestDigest: string;
  verifiedAt: string;
  /** Blobs of the folder the verification re-read and re-hashed. */
  blobCount: number;
  /** Time between the job's end (HSM clock) and this run noticing it (orchestration clock). */
  noticedAfterMs: number;
  copy: { copied: number; alreadyPresent: number; destinationUrl: string } | null;
  retention: { deleted: string[]; kept: number } | { error: string } | null;
  /** Earlier job attempts that failed (cause per attempt). */
  jobFailures: string[];
  /** Transient failures waited out before the deadline (stage, code, when). */
  recovered: string[];
  record: RecordBackupOutcomeOutput | { error: string };
}

type Step<T> = { ok: true; value: T } | { ok: false; code: ErrorCode; detail: string };

type Outcome = { kind: "succeeded"; folderUri: string; startTime: string; endTime: string; polls: number; noticedAt: Date } | { kind: "failed" | "timedOut"; code: ErrorCode; message: string; polls: number };

/** Job failures a new job can cure; others (missing container, roles, firewall, SAS) need a person. */
const RETRYABLE_JOB_CODES: readonly ErrorCode[] = ["JobFailed", "StorageUnreachable", "ServiceUnavailable", "Throttled", "Unexpected"];

export function backupHsmOrchestrator(retryOptions: RetryOptionsFactory): OrchestrationHandler {
  return function* backupHsm(context: OrchestrationContext): Generator<Task, BackupRunResult, any> {
    const input = checkInput(context.df.getInput());
    const hsm = { hsmName: input.hsmName };
    const retry = retryOptions(input.activityRetry);
    const runId = context.df.instanceId;
    const jobFailures: string[] = [];
    const recovered: string[] = [];
    const deadline = backupDeadline(context.df.currentUtcDateTime, input.scheduledFor, input.deadlineMs);
    let lastJobId: string | null = null;
    /** Whether this run's hold on its folder (see holdBackupFolder) is in place. */
    let held = false;

    /**
     * After a transient failure: waits (durable timer) for the next attempt and returns true, or returns false
     * once the deadline has come. The custom status says what is being waited out and until when.
     */
    function* waitOut(stage: string, code: ErrorCode): Generator<Task, boolean, any> {
      if (!isTransientBackupFailure(code)) return false;
      const at = nextRecoveryAttempt(context.df.currentUtcDateTime, deadline, recovered.length);
      if (at === undefined) return false;
      recovered.push(`${stage}: ${code} at ${context.df.currentUtcDateTime.toISOString()}`);
      context.df.setCustomStatus({ stage: "waitingForRecovery", failedStage: stage, code, retryAt: at.toISOString(), deadline: deadline?.toISOString(), waits: recovered.length });
      yield context.df.createTimer(at);
      return true;
    }

    function* call<T>(name: string, activityInput: unknown, waitTransient = true): Generator<Task, Step<T>, any> {
      for (;;) {
        try {
          return { ok: true, value: yield* callActivity<T>(context, retry, name, activityInput) };
        } catch (e) {
          const f = parseActivityFailure(e);
          if (waitTransient && (yield* waitOut(name, f.code))) continue;
          return { ok: false, code: f.code, detail: f.detail };
        }
      }
    }

    function* fail(stage: BackupFailure["stage"], code: ErrorCode, message: string): Generator<Task, never, any> {
      const waited = recovered.length === 0 || deadline === undefined ? "" : ` Transient failures were waited out and retried ${recovered.length} times until the backup deadline ${deadline.toISOString()} (BACKUP_DEADLINE).`;
      const formatted = message.startsWith(`[${code}]`) ? message : formatFailureMessage(code, message);
      const failure: BackupFailure = { code, message: `${formatted}${waited}`, stage };
      const data: BackupFailedData = {
        hsmName: input.hsmName,
        jobId: lastJobId,
        errorCode: code,
        message: failure.message.slice(0, 2048),
        runId,
        failedAt: context.df.currentUtcDateTime.toISOString(),
      };
      context.df.setCustomStatus({ stage: "failed", code, jobId: lastJobId });
      if (held) yield* release();
      yield* record({ outcome: "failed", night: input.night, data, details: { stage, jobFailures } });
      throw new Error(failure.message);
    }

    /** Best effort: a hold left behind expires on its own. */
    function* release(): Generator<Task, void, any> {
      held = false;
      try {
        yield* callActivity(context, undefined, activityNames.releaseBackupFolder, { ...hsm, runId });
      } catch {
        // The hold expires at its referencedUntil.
      }
    }

    function* record(outcome: RecordBackupOutcomeInput): Generator<Task, RecordBackupOutcomeOutput | { error: string }, any> {
      // Plain callActivity: the activity never throws for publish/audit problems, and a bug in it must not
      // turn a good backup into a failed run.
      try {
        return yield* callActivity<RecordBackupOutcomeOutput>(context, undefined, activityNames.recordBackupOutcome, outcome);
      } catch (e) {
        return { error: parseActivityFailure(e).detail };
      }
    }

    /**
     * Polls one job to its end with durable timers between polls (no worker is held while it runs). `shown` stays
     * in the custom status on every poll, so an operator (or `status`) sees e.g. that the job was adopted.
     */
    function* monitor(jobId: string, kind: "preCheck" | "backup", shown: Record<string, unknown> = {}): Generator<Task, Outcome, any> {
      const watchStartedAt = context.df.currentUtcDateTime;
      let polls = 0;
      for (;;) {
        const status: Step<PolledJobStatus> = yield* call<PolledJobStatus>(activityNames.getBackupStatus, { ...hsm, jobId });
        polls++;
        if (!status.ok) return { kind: "failed", code: status.code, message: formatFailureMessage(status.code, status.detail), polls };
        const now = context.df.currentUtcDateTime;
        if (kind === "preCheck" && status.value.status === "Succeeded") {
          // A pre-backup check writes nothing, so it succeeds without a folder.
          return { kind: "succeeded", folderUri: "", startTime: status.value.startTime, endTime: status.value.endTime ?? now.toISOString(), polls, noticedAt: now };
        }
        const next = nextBackupPoll(status.value, { now, watchStartedAt, timeoutMs: input.jobTimeoutMs, intervalMs: input.pollIntervalMs });
        if (next.kind === "succeeded") return { ...next, polls, noticedAt: now };
        if (next.kind === "failed" || next.kind === "timedOut") return { kind: next.kind, code: next.error.code, message: next.error.message, polls };
        context.df.setCustomStatus({ stage: "monitoring", ...shown, jobId, polls });
        yield context.df.createTimer(new Date(next.fireAt));
      }
    }

    // 1. Not before the night's scheduled time (a starter that runs early, or a test's virtual clock).
    if (input.scheduledFor !== undefined && Date.parse(input.scheduledFor) > context.df.currentUtcDateTime.getTime()) {
      context.df.setCustomStatus({ stage: "waiting", until: input.scheduledFor });
      yield context.df.createTimer(new Date(input.scheduledFor));
    }

    // 2. Pre-backup check: storage reachable and writable for the HSM, nothing written.
    context.df.setCustomStatus({ stage: "preCheck" });
    // A 409 (a job holds the HSM's slot) is a permanent failure: the activity returns it at once, without
    // durable retries, so it reaches the adoption path below; only transient failures are retried.
    for (;;) {
      const pre: Step<PreBackupCheckOutput> = yield* call<PreBackupCheckOutput>(activityNames.preBackupCheck, hsm);
      if (pre.ok) {
        const checked = yield* monitor(pre.value.jobId, "preCheck");
        // The HSM's check failing on storage it cannot reach is as transient as our own call failing.
        if (checked.kind !== "succeeded" && (checked.kind === "timedOut" || !(yield* waitOut("preCheck", checked.code)))) yield* fail("preCheck", checked.code, checked.message);
        if (checked.kind !== "succeeded") continue;
      } else if (pre.code !== "Conflict") {
        yield* fail("preCheck", pre.code, pre.detail);
      }
      break;
    }
    // A Conflict means an admin job holds the HSM's single slot: if it is a backup, startBackup adopts it.

    // 3. Start (or adopt) and monitor; a failed job is started again after a growing backoff.
    let done: Extract<Outcome, { kind: "succeeded" }> | undefined;
    let started: StartBackupOutput | undefined;
    let attempts = 0;
    let delayMs = input.jobRetryDelayMs;
    while (done === undefined) {
      attempts++;
      context.df.setCustomStatus({ stage: "starting", attempt: attempts });
      const start: Step<StartBackupOutput> = yield* call<StartBackupOutput>(activityNames.startBackup, hsm);
      if (!start.ok) yield* fail("start", start.code, start.detail);
      else started = start.value;
      if (started === undefined) continue; // unreachable: fail() throws
      lastJobId = started.jobId;
      const shown = { adopted: started.adopted, attempt: attempts };
      context.df.setCustomStatus({ stage: "monitoring", ...shown, jobId: started.jobId, polls: 0 });
      if (!held) {
        // Hold the folder the job writes (its name is known only at its end) until the manifest names it, so
        // retention never deletes a folder this run references. Right after the start, before the job is polled
        // (storage may be as slow as the job); covering folders from the run's start less one job timeout, an
        // adopted job's too. Until it lands, the folder is the HSM's newest, which folder cleanup always keeps.
        const holdStart = context.df.currentUtcDateTime.getTime();
        const hold: Step<unknown> = yield* call<unknown>(activityNames.holdBackupFolder, {
          ...hsm,
          runId,
          since: new Date(holdStart - input.jobTimeoutMs).toISOString(),
          until: new Date(Math.max(holdStart + input.jobTimeoutMs * (input.jobAttempts + 1), deadline?.getTime() ?? 0) + input.jobTimeoutMs).toISOString(),
        });
        if (!hold.ok) yield* fail("start", hold.code, hold.detail);
        held = true;
      }
      const outcome = yield* monitor(started.jobId, "backup", shown);
      if (outcome.kind === "succeeded") {
        done = outcome;
        break;
      }
      jobFailures.push(`attempt ${attempts} (job ${started.jobId}): ${outcome.message}`);
      const retryable = outcome.kind === "failed" && RETRYABLE_JOB_CODES.includes(outcome.code);
      if (retryable && attempts >= input.jobAttempts && (yield* waitOut("job", outcome.code))) continue;
      if (!retryable || attempts >= input.jobAttempts) {
        const tried = attempts > 1 ? ` (${attempts} backup jobs tried; earlier: ${jobFailures.slice(0, -1).join(" | ")})` : "";
        yield* fail("job", outcome.code, `${outcome.message}${tried}`);
      }
      context.df.setCustomStatus({ stage: "backoff", attempt: attempts, lastFailure: outcome.code, retryInMs: delayMs });
      yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + delayMs));
      delayMs *= 2;
    }
    if (done === undefined || started === undefined) throw new Error("[Unexpected] backup loop ended without a job.");

    // 4. Manifest, then verification (only a re-listed, re-hashed backup is "verified").
    context.df.setCustomStatus({ stage: "manifest", jobId: started.jobId });
    const manifest: Step<WriteBackupManifestOutput> = yield* call<WriteBackupManifestOutput>(activityNames.writeBackupManifest, {
      ...hsm,
      jobId: started.jobId,
      folderUri: done.folderUri,
      startTime: done.startTime,
      endTime: done.endTime,
    });
    if (!manifest.ok) return yield* fail("manifest", manifest.code, manifest.detail);
    yield* release();
    context.df.setCustomStatus({ stage: "verify", folder: manifest.value.folder });
    const verified: Step<VerifyBackupOutput> = yield* call<VerifyBackupOutput>(activityNames.verifyBackup, { folder: manifest.value.folder });
    if (!verified.ok) return yield* fail("verify", verified.code, verified.detail);

    // 5. Optional copy (e.g. into an immutable container), digests checked by the activity.
    let copy: BackupRunResult["copy"] = null;
    if (input.copy) {
      context.df.setCustomStatus({ stage: "copy", folder: manifest.value.folder });
      const copied: Step<CopyBackupOutput> = yield* call<CopyBackupOutput>(activityNames.copyBackup, { folder: manifest.value.folder });
      if (!copied.ok) return yield* fail("copy", copied.code, `${copied.detail} (The backup ${manifest.value.folder} itself is verified and kept.)`);
      copy = { copied: copied.value.copied, alreadyPresent: copied.value.alreadyPresent, destinationUrl: copied.value.destinationUrl };
    }

    // 6. Retention: planned by the activity from the live listing; a retention problem never fails a good backup.
    let retention: BackupRunResult["retention"] = null;
    if (input.retention !== null) {
      context.df.setCustomStatus({ stage: "retention" });
      const applied: Step<ApplyBackupRetentionOutput> = yield* call<ApplyBackupRetentionOutput>(activityNames.applyBackupRetention, {
        policy: input.retention,
        now: context.df.currentUtcDateTime.toISOString(),
        dryRun: false,
        hsmName: input.hsmName,
      }, false); // the backup is verified: a retention problem is reported, never waited out for hours
      retention = applied.ok ? { deleted: applied.value.deleted, kept: applied.value.plan.keep.length } : { error: formatFailureMessage(applied.code, applied.detail) };
    }

    // 7. BackupCompleted + audit.
    const folderUrl = done.folderUri;
    const data: BackupCompletedData = {
      hsmName: input.hsmName,
      jobId: started.jobId,
      folderUrl,
      startedAt: done.startTime,
      completedAt: done.endTime,
      durationMs: Math.max(0, Date.parse(done.endTime) - Date.parse(done.startTime)),
      verified: true,
      runId,
    };
    const noticedAfterMs = Math.max(0, done.noticedAt.getTime() - Date.parse(done.endTime));
    const details = { adopted: started.adopted, attempts, polls: done.polls, jobFailures, folder: manifest.value.folder, manifestDigest: manifest.value.manifestDigest, copy, retention };
    const recorded = yield* record({ outcome: "completed", night: input.night, data, details });
    context.df.setCustomStatus({ stage: "completed", jobId: started.jobId, folder: manifest.value.folder });
    return {
      kind: "completed",
      hsmName: input.hsmName,
      night: input.night,
      jobId: started.jobId,
      adopted: started.adopted,
      attempts,
      polls: done.polls,
      folder: manifest.value.folder,
      folderUrl,
      manifestDigest: manifest.value.manifestDigest,
      verifiedAt: verified.value.verifiedAt,
      blobCount: verified.value.blobCount,
      noticedAfterMs,
      copy,
      retention,
      jobFailures,
      recovered,
      record: recorded,
    };
  };
}

/** Bad input fails the run at once with what is wrong (nothing is started). */
function checkInput(raw: unknown): BackupRunInput {
  const i = (raw ?? {}) as Partial<BackupRunInput>;
  const problems: string[] = [];
  if (typeof i.hsmName !== "string" || i.hsmName === "") problems.push("hsmName");
  // A URL is never followed: the activities act on the configured HSM of that name only.
  const refused = instanceInputProblem(i.hsmName, "hsmBackup") ?? ("hsmUrl" in i ? "hsmBackup: the input carries hsmUrl; refused without calling it. The HSM's URL always comes from the app settings (HSMS)." : undefined);
  if (refused !== undefined) throw new Error(formatFailureMessage("BadParameter", `${refused} Fix: start it with {"hsmName": "<a primary HSM from HSMS>"} (nightlyBackupInputs builds the input from the settings).`));
  if (typeof i.night !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(i.night)) problems.push("night (yyyy-MM-dd)");
  for (const k of ["pollIntervalMs", "jobRetryDelayMs"] as const) if (typeof i[k] !== "number" || !(i[k] >= 0)) problems.push(k);
  if (typeof i.jobTimeoutMs !== "number" || !(i.jobTimeoutMs > 0)) problems.push("jobTimeoutMs");
  if (typeof i.jobAttempts !== "number" || !Number.isInteger(i.jobAttempts) || i.jobAttempts < 1) problems.push("jobAttempts (>= 1)");
  const r = i.activityRetry;
  if (typeof r !== "object" || r === null || !(r.firstRetryIntervalMs > 0) || !(r.maxAttempts >= 1)) problems.push("activityRetry");
  if (typeof i.copy !== "boolean") problems.push("copy");
  if (i.retention === undefined) problems.push("retention (or null)");
  if (problems.length > 0) {
    throw new Error(formatFailureMessage("BadParameter", `hsmBackup input is missing or has invalid ${problems.join(", ")}. Fix: start it through the backup timer (nightlyBackupInputs builds the input from the settings).`));
  }
  return i as BackupRunInput;
}
