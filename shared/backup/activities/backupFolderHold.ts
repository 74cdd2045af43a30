import { LifecycleError } from "../../errors/lifecycleError";
import type { BackupDeps } from "../backupDeps";
import { releaseRunningBackupHold, writeRunningBackupHold } from "../runningBackupHolds";

export interface HoldBackupFolderInput {
  hsmName: string;
  /** The backup run (its instance id). */
  runId: string;
  /** ISO: folders of the HSM created at or after this are held. */
  since: string;
  /** ISO: the hold expires on its own then (a crashed run). */
  until: string;
}

/**
 * Activity `holdBackupFolder`: before the job starts, holds the folder it will write against retention (see
 * runningBackupHolds), so retention never deletes a folder a running backup references.
 */
export async function holdBackupFolder(input: HoldBackupFolderInput, deps: BackupDeps): Promise<{ held: true }> {
  const bad = ["hsmName", "runId"].filter((k) => typeof (input as unknown as Record<string, unknown>)?.[k] !== "string" || (input as unknown as Record<string, string>)[k] === "");
  if (bad.length > 0 || Number.isNaN(Date.parse(input.since)) || Number.isNaN(Date.parse(input.until))) {
    throw new LifecycleError("BadParameter", `holdBackupFolder needs {hsmName, runId, since, until} with ISO times (got ${JSON.stringify(input)}).`);
  }
  await writeRunningBackupHold(deps.backupContainer, { hsmName: input.hsmName, referencedBy: input.runId, since: input.since, referencedUntil: input.until });
  return { held: true };
}

/** Activity `releaseBackupFolder`: once the manifest is written (or the run failed), the run's hold goes. */
export async function releaseBackupFolder(input: { hsmName: string; runId: string }, deps: BackupDeps): Promise<{ released: boolean }> {
  if (typeof input?.hsmName !== "string" || typeof input.runId !== "string") {
    throw new LifecycleError("BadParameter", `releaseBackupFolder needs {hsmName, runId} (got ${JSON.stringify(input)}).`);
  }
  return { released: await releaseRunningBackupHold(deps.backupContainer, input.hsmName, input.runId, deps.now()) };
}
