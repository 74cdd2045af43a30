import { toLifecycleError } from "../../errors/fromRestError";
import { selectLatestVerifiedBackup } from "../selectLatestVerifiedBackup";
import type { DrillDeps } from "./deps";

export interface FindLatestVerifiedBackupInput {
  primary: string;
  /** The drill's start (orchestration time), ISO. */
  drillStart: string;
}

export interface FoundVerifiedBackup {
  kind: "found";
  folder: string;
  folderUrl: string;
  jobId: string;
  startTime: string;
  endTime: string;
  keyCount: number;
  /** Drill start − the backup's end. */
  rpoMs: number;
}

/** An expected outcome, returned (not thrown) so durable does not retry it. */
export interface NoVerifiedBackupOutcome {
  kind: "noVerifiedBackup";
  /** Why, with the fix (no code prefix). */
  reason: string;
}

export type FindLatestVerifiedBackupOutput = FoundVerifiedBackup | NoVerifiedBackupOutcome;

/**
 * Activity `findLatestVerifiedBackup`: the newest verified backup of the primary (from the manifests), and the
 * RPO it implies. `{kind:"noVerifiedBackup", reason}` when there is none (a value: retrying cannot make one
 * appear): a drill never restores an unverified backup. Storage failures still throw (and are retried).
 */
export async function findLatestVerifiedBackup(input: FindLatestVerifiedBackupInput, deps: DrillDeps): Promise<FindLatestVerifiedBackupOutput> {
  const drillStart = new Date(input.drillStart);
  if (Number.isNaN(drillStart.getTime())) throw new RangeError(`drillStart "${input.drillStart}" is not an ISO 8601 instant.`);
  let candidates;
  try {
    candidates = await deps.backups.listBackups(input.primary, deps.log);
  } catch (e) {
    throw toLifecycleError(e, { service: "storage", operation: "list backup manifests", resource: input.primary });
  }
  const chosen = selectLatestVerifiedBackup(candidates, input.primary, drillStart);
  if (chosen === undefined) {
    const unverified = candidates.filter((c) => !c.verified).length;
    return {
      kind: "noVerifiedBackup",
      reason: `No verified backup of "${input.primary}" ended before ${input.drillStart} (${candidates.length} backup${candidates.length === 1 ? "" : "s"} found, ${unverified} unverified). Fix: run the backup workflow and let it verify, then rerun the drill.`,
    };
  }
  const b = chosen.manifest.backup;
  return { kind: "found", folder: b.folder, folderUrl: b.folderUrl, jobId: b.jobId, startTime: b.startTime, endTime: b.endTime, keyCount: chosen.manifest.keys.length, rpoMs: drillStart.getTime() - Date.parse(b.endTime) };
}
