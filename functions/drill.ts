/**
 * Restore drills: registrations only. Handlers live in shared/; activity deps are built on first
 * use from the app settings and the drill's managed identity, never at import time (a settings error must
 * surface in the failed invocation, not stop the whole app from loading).
 */
import * as df from "durable-functions";
import { appSettings, scheduleSetting } from "../shared/app/appSettings";
import { checkDrillSafety } from "../shared/drill/activities/checkSafety";
import type { DrillDeps } from "../shared/drill/activities/deps";
import { createDrillDeps } from "../shared/drill/activities/depsFromSettings";
import { findLatestVerifiedBackup } from "../shared/drill/activities/findLatestVerifiedBackup";
import { getRestoreStatus } from "../shared/drill/activities/getRestoreStatus";
import { getDrillTargetBackupStatus } from "../shared/drill/activities/getTargetBackupStatus";
import { preRestoreCheck } from "../shared/drill/activities/preRestoreCheck";
import { recordDrillOutcome, type DrillOutcomeDeps, type RecordDrillOutcomeInput } from "../shared/drill/activities/recordOutcome";
import { runCryptoProbes } from "../shared/drill/activities/runCryptoProbes";
import { startRestore } from "../shared/drill/activities/startRestore";
import { startSelectiveRestore } from "../shared/drill/activities/startSelectiveRestore";
import { startDrillTargetBackup } from "../shared/drill/activities/startTargetBackup";
import { verifyRestoredInventory } from "../shared/drill/activities/verifyRestoredInventory";
import { verifyRoleAssignments } from "../shared/drill/activities/verifyRoleAssignments";
import { writeDrillReport } from "../shared/drill/activities/writeReport";
import { drillHttpHandler, drillTimerHandler } from "../shared/drill/drillStarters";
import { credentialFor } from "../shared/hsm/workloadCredential";
import { activityNames, orchestrationNames, triggerNames } from "../shared/names";
import { settlePermanentFailures } from "../shared/app/settlePermanentFailures";
import { redactingLog } from "../shared/errors/redactSecrets";
import { restoreDrill } from "../shared/drill/orchestrations/restoreDrill";
import { reapplyDrRoles, type StewardDeps } from "../shared/drill/activities/reapplyDrRoles";

let deps: (DrillDeps & DrillOutcomeDeps) | undefined;
function drillDeps(): DrillDeps & DrillOutcomeDeps {
  if (deps === undefined) {
    const settings = appSettings();
    deps = createDrillDeps(settings, credentialFor("drill", settings));
  }
  return deps;
}

/** Activity retries: 5 attempts, 2 s doubling to 60 s (transient HSM/storage failures; refusals fail fast enough). */
const retry = new df.RetryOptions(2_000, 5);
retry.backoffCoefficient = 2;
retry.maxRetryIntervalInMilliseconds = 60_000;

df.app.orchestration(orchestrationNames.restoreDrill, restoreDrill("full", retry));
df.app.orchestration(orchestrationNames.selectiveRestoreDrill, restoreDrill("selective", retry));

const activity = <I, O>(name: string, run: (input: I, d: DrillDeps & DrillOutcomeDeps) => Promise<O>): void => {
  df.app.activity(name, { handler: settlePermanentFailures(name, (input, context) => run(input as I, { ...drillDeps(), log: redactingLog((line) => context.log(line)) })) });
};
activity(activityNames.checkDrillSafety, checkDrillSafety);
activity(activityNames.findLatestVerifiedBackup, findLatestVerifiedBackup);
activity(activityNames.startDrillTargetBackup, startDrillTargetBackup);
activity(activityNames.getDrillTargetBackupStatus, getDrillTargetBackupStatus);
activity(activityNames.preRestoreCheck, preRestoreCheck);
activity(activityNames.startRestore, startRestore);
activity(activityNames.startSelectiveRestore, startSelectiveRestore);
activity(activityNames.getRestoreStatus, getRestoreStatus);
activity(activityNames.verifyRestoredInventory, verifyRestoredInventory);
activity(activityNames.runCryptoProbes, runCryptoProbes);
activity(activityNames.verifyRoleAssignments, verifyRoleAssignments);
activity(activityNames.writeDrillReport, writeDrillReport);
// The DR steward runs as its own identity: the drill identity never holds role-write.
let stewardDeps: StewardDeps | undefined;
df.app.activity(activityNames.reapplyDrRoles, {
  handler: settlePermanentFailures(activityNames.reapplyDrRoles, (input) => {
    if (stewardDeps === undefined) {
      const settings = appSettings();
      stewardDeps = { settings, credential: credentialFor("steward", settings), adminOptions: drillDeps().adminOptions };
    }
    return reapplyDrRoles(input as { primary: string; target: string }, stewardDeps);
  }),
});
// With the durable client: the last call after durable retries hands a failed audit write to `auditRecordRetry`.
df.app.activity(activityNames.recordDrillOutcome, {
  extraInputs: [df.input.durableClient()],
  handler: settlePermanentFailures(activityNames.recordDrillOutcome, (input, context) =>
    recordDrillOutcome(input as RecordDrillOutcomeInput, { ...drillDeps(), log: redactingLog((line) => context.log(line)), starter: df.getClient(context), logError: redactingLog((line) => context.error(line)) }),
  ),
});

df.app.client.timer(triggerNames.drillTimer, { schedule: scheduleSetting("drill"), handler: drillTimerHandler });
df.app.client.http(triggerNames.drillHttp, { route: "drills", methods: ["POST"], authLevel: "function", handler: drillHttpHandler });

