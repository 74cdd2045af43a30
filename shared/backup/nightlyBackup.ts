/**
 * The nightly backup starter (called by the `backupTimer` trigger): one `hsmBackup` per configured primary
 * HSM, a singleton per HSM and UTC night (`backup:{hsm}:{yyyy-MM-dd}`). Pure apart from the injected
 * durable client, so tests drive the same code with a simulated night.
 */
import type { Settings } from "../config/settings";
import { orchestrationNames } from "../names";
import { backupInstanceId, defaultBackupRetry, nightOf, type BackupRunInput } from "./runInput";

/** The two durable-client calls the starter uses (durable-functions' DurableClient fits). */
export interface BackupStarterClient {
  getStatus(instanceId: string): Promise<{ runtimeStatus?: string } | undefined | null>;
  startNew(name: string, options: { instanceId: string; input: unknown }): Promise<string>;
}

export type BackupStartDecision =
  | { hsmName: string; instanceId: string; action: "started" }
  | { hsmName: string; instanceId: string; action: "skipped"; reason: string };

/** Statuses that mean "this night's backup already ran or is running": a second trigger does nothing. */
const ALREADY = new Set(["Running", "Pending", "Completed", "ContinuedAsNew", "Suspended"]);

/** The inputs for every primary HSM (drill targets are never backed up by this workflow). */
export function nightlyBackupInputs(
  settings: Pick<Settings, "hsms" | "pollerIntervalMs" | "adminJobTimeoutMs" | "retention" | "storage">,
  scheduledFor: Date,
): BackupRunInput[] {
  const night = nightOf(scheduledFor);
  return settings.hsms
    .filter((h) => h.role === "primary")
    .map((h) => ({
      hsmName: h.name,
      night,
      scheduledFor: scheduledFor.toISOString(),
      pollIntervalMs: settings.pollerIntervalMs,
      jobTimeoutMs: settings.adminJobTimeoutMs,
      jobAttempts: defaultBackupRetry.jobAttempts,
      jobRetryDelayMs: defaultBackupRetry.jobRetryDelayMs,
      activityRetry: { ...defaultBackupRetry.activityRetry },
      copy: settings.storage.backupCopyContainerUrl !== undefined,
      retention: { ...settings.retention },
    }));
}

/**
 * Starts each input's orchestration unless that HSM's backup for the night already exists. A Failed or
 * Terminated run of the same night is started again (durable replaces it), so an operator can re-trigger
 * after fixing the cause. Losing a start race to another trigger is not an error: the status is re-read.
 */
export async function startNightlyBackups(client: BackupStarterClient, inputs: readonly BackupRunInput[]): Promise<BackupStartDecision[]> {
  const out: BackupStartDecision[] = [];
  for (const input of inputs) {
    const instanceId = backupInstanceId(input.hsmName, input.night);
    const existing = await client.getStatus(instanceId).catch(absentOn404);
    const status = existing?.runtimeStatus;
    if (status !== undefined && ALREADY.has(status)) {
      out.push({ hsmName: input.hsmName, instanceId, action: "skipped", reason: `backup ${instanceId} is already ${status}` });
      continue;
    }
    try {
      await client.startNew(orchestrationNames.hsmBackup, { instanceId, input });
      out.push({ hsmName: input.hsmName, instanceId, action: "started" });
    } catch (e) {
      const now = await client.getStatus(instanceId).catch(() => undefined);
      if (now?.runtimeStatus !== undefined && ALREADY.has(now.runtimeStatus)) {
        out.push({ hsmName: input.hsmName, instanceId, action: "skipped", reason: `another trigger started ${instanceId} first (${now.runtimeStatus})` });
        continue;
      }
      throw new Error(`[Unexpected] Starting the nightly backup ${instanceId} failed: ${(e as Error)?.message ?? String(e)}. The next trigger retries it.`);
    }
  }
  return out;
}

/** durable-functions' getStatus throws on 404 (no such instance): that is "never started", anything else is an error. */
function absentOn404(e: unknown): undefined {
  if (/\b404\b/.test((e as Error)?.message ?? "")) return undefined;
  throw e;
}
