/**
 * The app's settings, loaded once per worker process. Registration code (functions/) must not call this at
 * import time: a settings error would then stop every function from loading and the host would show nothing
 * but a crash. Activities call it on first use, so the error surfaces in the failed invocation with the full
 * list of problems; timers use `scheduleSetting`, which checks only the schedule.
 */
import { loadSettings, type Settings } from "../config/settings";
import { settingsCatalog } from "../config/settingsCatalog";
import { ncrontabProblem } from "../config/ncrontab";
import { LifecycleError } from "../errors/lifecycleError";
import { ManagedIdentityCredential } from "@azure/identity";
import { logsIngestionRowSink, useLifecycleRowSink } from "../lifecycleLog/lifecycleRowSink";

let cached: Readonly<Settings> | undefined;

export function appSettings(): Readonly<Settings> {
  if (cached === undefined) {
    cached = loadSettings();
    // Every activity reads its settings here first, so every audit record's row goes where the settings say.
    const log = cached.lifecycleLog;
    if (log !== undefined) {
      const credential = log.identityClientId === undefined ? new ManagedIdentityCredential() : new ManagedIdentityCredential({ clientId: log.identityClientId });
      useLifecycleRowSink(logsIngestionRowSink(log, credential));
    }
  }
  return cached;
}

/** Forget the cached settings (tests that run several configurations in one process). */
export function resetAppSettings(): void {
  cached = undefined;
  useLifecycleRowSink(undefined);
}

const scheduleKeys = { sweep: "SWEEP_SCHEDULE", backup: "BACKUP_SCHEDULE", drill: "DRILL_SCHEDULE", reverify: "BACKUP_REVERIFY_SCHEDULE" } as const;

/**
 * A timer's NCRONTAB schedule for registration: the app setting, else the catalogue default. Only this
 * value is validated here, so one bad unrelated setting does not stop the timers from registering.
 */
export function scheduleSetting(workflow: keyof typeof scheduleKeys, env: NodeJS.ProcessEnv = process.env): string {
  const key = scheduleKeys[workflow];
  const raw = env[key]?.trim();
  const value = raw !== undefined && raw !== "" ? raw : (settingsCatalog.find((s) => s.key === key)?.default ?? "");
  const problem = ncrontabProblem(value);
  if (problem !== undefined) {
    // The app cannot register with a bad schedule anyway, so report it with every other bad key, in one error.
    loadSettings(env);
    throw new LifecycleError("SettingsInvalid", `${key} ${problem} Fix: set a 6-field NCRONTAB expression, e.g. "0 0 2 * * *".`);
  }
  return value;
}
