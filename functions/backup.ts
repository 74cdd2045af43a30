/**
 * Backup registrations: the nightly backup timer, the `hsmBackup` orchestration and its activities.
 * Handlers live in shared/; activity deps are built lazily (first call) from the app settings and the
 * backup workflow's managed identity, so a settings problem surfaces in the failed invocation, not at load.
 */
import { app, type InvocationContext, type Timer } from "@azure/functions";
import * as df from "durable-functions";
import { appSettings, scheduleSetting } from "../shared/app/appSettings";
import { createBackupDeps, type BackupDeps } from "../shared/backup/backupDeps";
import { createLifecyclePublisher, lifecyclePublisherCredential } from "../shared/events/lifecyclePublisher";
import { credentialFor } from "../shared/hsm/workloadCredential";
import { principalIdOf } from "../shared/hsm/principalIdOf";
import { readTlsCaFile } from "../shared/hsm/keyClients";
import { blobServiceClientFor } from "../shared/storage/blobServiceClientFor";
import { activityNames, orchestrationNames, triggerNames } from "../shared/names";
import { settlePermanentFailures } from "../shared/app/settlePermanentFailures";
import { redactingLog } from "../shared/errors/redactSecrets";
import { preBackupCheck } from "../shared/backup/activities/preCheck";
import { startBackup } from "../shared/backup/activities/start";
import { getBackupStatus } from "../shared/backup/activities/status";
import { writeBackupManifest } from "../shared/backup/activities/manifestWrite";
import { verifyBackup } from "../shared/backup/activities/verify";
import { copyBackup } from "../shared/backup/activities/copy";
import { listBackups } from "../shared/backup/activities/list";
import { applyBackupRetention } from "../shared/backup/activities/retentionApply";
import { recordBackupOutcome, type BackupAuditDeps } from "../shared/backup/activities/audit";
import { backupHsmOrchestrator } from "../shared/backup/orchestrations/backupHsm";
import { nightlyBackupInputs, startNightlyBackups } from "../shared/backup/nightlyBackup";
import { backupHttpHandler } from "../shared/backup/backupHttp";
import { reverifyBackup } from "../shared/backup/activities/reverify";
import { holdBackupFolder, releaseBackupFolder } from "../shared/backup/activities/backupFolderHold";
import { reverifyBackupsOrchestrator } from "../shared/backup/orchestrations/reverifyBackups";
import { startReverifications } from "../shared/backup/startReverifications";

/** Storage retries inside one activity call; durable retries the whole activity on top of these. */
const STORAGE_RETRY = { retryOptions: { maxTries: 3, retryDelayInMs: 500, maxRetryDelayInMs: 4_000, tryTimeoutInMs: 60_000 } };

let backupDeps: BackupDeps | undefined;
let auditDeps: BackupAuditDeps | undefined;

function deps(): BackupDeps {
  if (backupDeps !== undefined) return backupDeps;
  backupDeps = depsAs("backup");
  return backupDeps;
}

// Retention runs as its own identity: the only one with delete on the backup container.
let retentionDeps: BackupDeps | undefined;
function retention(): BackupDeps {
  return (retentionDeps ??= depsAs("retention"));
}

function depsAs(workload: "backup" | "retention"): BackupDeps {
  const settings = appSettings();
  const credential = credentialFor(workload, settings);
  const ca = settings.tlsCaFile === undefined ? undefined : readTlsCaFile(settings.tlsCaFile);
  return createBackupDeps({
    credential,
    hsmClientOptions: { ...(ca === undefined ? {} : { tlsOptions: { ca } }), ...(settings.emulatorMode ? { disableChallengeResourceVerification: true } : {}) },
    blobService: blobServiceClientFor(settings.storage, credential, STORAGE_RETRY),
    settings,
    ...(settings.emulatorMode && ca !== undefined ? { copyTlsCa: ca } : {}),
  });
}

function audit(): BackupAuditDeps {
  if (auditDeps !== undefined) return auditDeps;
  const settings = appSettings();
  const credential = credentialFor("backup", settings);
  const ca = settings.tlsCaFile === undefined ? undefined : readTlsCaFile(settings.tlsCaFile);
  auditDeps = {
    publisher: createLifecyclePublisher({
      endpoint: settings.lifecycleTopic.endpoint,
      credential: lifecyclePublisherCredential(settings.lifecycleTopic.key, credential),
      ...(ca === undefined ? {} : { clientOptions: { tlsOptions: { ca } } }),
    }),
    // Few tries: the audit write is best effort and must not hold a failing run for minutes.
    auditContainer: blobServiceClientFor(settings.storage, credential, { retryOptions: { maxTries: 2, retryDelayInMs: 500, tryTimeoutInMs: 30_000 } }).getContainerClient(settings.storage.auditContainer),
    now: () => new Date(),
    principalId: () => principalIdOf(credential),
  };
  return auditDeps;
}

/** Wraps an `(input, deps)` activity for registration; its log lines (e.g. ignored manifests) go to that invocation's log. */
function activity<I, O>(name: string, handler: (input: I, d: BackupDeps) => Promise<O>): void {
  df.app.activity(name, { handler: settlePermanentFailures(name, (input, context) => handler(input as I, { ...deps(), log: redactingLog((line) => context.log(line)) })) });
}

activity(activityNames.preBackupCheck, preBackupCheck);
activity(activityNames.startBackup, startBackup);
activity(activityNames.getBackupStatus, getBackupStatus);
activity(activityNames.writeBackupManifest, writeBackupManifest);
activity(activityNames.verifyBackup, verifyBackup);
activity(activityNames.copyBackup, copyBackup);
activity(activityNames.reverifyBackup, reverifyBackup);
activity(activityNames.holdBackupFolder, holdBackupFolder);
activity(activityNames.releaseBackupFolder, releaseBackupFolder);
activity(activityNames.listBackups, listBackups);
df.app.activity(activityNames.applyBackupRetention, {
  handler: settlePermanentFailures(activityNames.applyBackupRetention, (input) => applyBackupRetention(input as Parameters<typeof applyBackupRetention>[0], retention())),
});
// With the durable client: a failed audit write starts `auditRecordRetry` from here.
df.app.activity(activityNames.recordBackupOutcome, {
  extraInputs: [df.input.durableClient()],
  handler: settlePermanentFailures(activityNames.recordBackupOutcome, (input, context) =>
    recordBackupOutcome(input as Parameters<typeof recordBackupOutcome>[0], { ...audit(), starter: df.getClient(context), logError: redactingLog((line) => context.error(line)) }),
  ),
});

df.app.orchestration(
  orchestrationNames.hsmBackup,
  backupHsmOrchestrator((p) => {
    const options = new df.RetryOptions(p.firstRetryIntervalMs, p.maxAttempts);
    options.backoffCoefficient = p.backoffCoefficient;
    options.maxRetryIntervalInMilliseconds = p.maxRetryIntervalMs;
    return options;
  }),
);

// Re-verification: the backup identity re-hashes and records (it writes the manifest's metadata, as verifyBackup does).
df.app.orchestration(orchestrationNames.reverifyBackups, reverifyBackupsOrchestrator(new df.RetryOptions(5_000, 3)));

app.timer(triggerNames.backupReverifyTimer, {
  schedule: scheduleSetting("reverify"),
  extraInputs: [df.input.durableClient()],
  handler: async (_timer: Timer, context: InvocationContext): Promise<void> => {
    const primaries = appSettings().hsms.filter((h) => h.role === "primary").map((h) => h.name);
    const decisions = await startReverifications(df.getClient(context), primaries, new Date());
    for (const d of decisions) context.log(`backup re-verification ${d.instanceId}: ${d.action}${d.reason === undefined ? "" : ` (${d.reason})`}`);
  },
});

app.timer(triggerNames.backupTimer, {
  schedule: scheduleSetting("backup"),
  extraInputs: [df.input.durableClient()],
  handler: async (_timer: Timer, context: InvocationContext): Promise<void> => {
    const client = df.getClient(context);
    // The trigger fires at the scheduled minute; the night is that moment's UTC date.
    const decisions = await startNightlyBackups(client, nightlyBackupInputs(appSettings(), new Date()));
    for (const d of decisions) context.log(`nightly backup ${d.instanceId}: ${d.action}${d.action === "skipped" ? ` (${d.reason})` : ""}`);
  },
});

// POST /api/backups {"hsm"?: NAME}: a backup now; 202 with run ids and status paths (never durable's keyed URLs),
// 409 naming the run that already holds the HSM.
df.app.client.http(triggerNames.backupHttp, { route: "backups", methods: ["POST"], authLevel: "function", handler: backupHttpHandler });
