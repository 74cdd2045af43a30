import { toLifecycleError } from "../../errors/fromRestError";
import { selectLatestVerifiedBackup } from "../selectLatestVerifiedBackup";
import type { DrillDeps } from "./deps";

export interface FindLatestVerifiedBackupInput {
  primary: string;
  /** The drill's start (orchestration time), ISO. */
  drillStart: string;
  /** The drill holding the chosen backup against retention (named in the manifest's metadata). */
  drillId?: string;
}

/**
 * How long a drill holds its backup against retention: longer than any drill runs (two admin jobs of at most
 * ADMIN_JOB_TIMEOUT each, plus verification), short enough that a crashed drill frees it by the next night.
 */
export const DRILL_REFERENCE_MS = 12 * 3_600_000;

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
  let chosen = selectLatestVerifiedBackup(candidates, input.primary, drillStart);
  // From the later of the drill's start (the orchestration clock retention plans with) and this machine's clock,
  // so the hold lasts its full length on either.
  const holdUntil = new Date(Math.max(drillStart.getTime(), Date.now()) + DRILL_REFERENCE_MS);
  // Hold the chosen backup against retention for the drill's length; one retention started deleting meanwhile
  // is passed over for the next newest.
  while (chosen !== undefined && deps.backups.reference !== undefined) {
    const folder = chosen.manifest.backup.folder;
    let held: boolean;
    try {
      held = await deps.backups.reference(input.primary, folder, input.drillId ?? "drill", holdUntil);
    } catch (e) {
      throw toLifecycleError(e, { service: "storage", operation: "mark the chosen backup as used by the drill", resource: folder });
    }
    if (held) break;
    candidates = candidates.filter((c) => c.manifest.backup.folder !== folder);
    chosen = selectLatestVerifiedBackup(candidates, input.primary, drillStart);
  }
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
