import { toLifecycleError } from "../../errors/fromRestError";
import type { BackupCandidate } from "../backupCandidate";
import { selectLatestVerifiedBackup } from "../selectLatestVerifiedBackup";
import type { DrillDeps } from "./deps";

export interface FindLatestVerifiedBackupInput {
  primary: string;
  /** The drill's start (orchestration time), ISO. */
  drillStart: string;
  /** The drill holding the chosen backup against retention (named in the manifest's metadata). */
  drillId?: string;
  /**
   * Re-hash the chosen backup's blobs against its manifest before it is returned (the drill's pre-restore hash
   * check); one that fails is passed over for the next newest. The plan (a dry run) leaves it off.
   */
  checkBlobs?: boolean;
}

/** Newer backups the drill did not restore, and why: it fell back to an older one. */
export interface DrillFallback {
  restored: string;
  rejected: Array<{ folder: string; reason: string }>;
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
  /** Set when a newer backup was passed over (failed its hash check or its last re-verification). */
  fallback?: DrillFallback;
}

/** An expected outcome, returned (not thrown) so durable does not retry it. */
export interface NoVerifiedBackupOutcome {
  kind: "noVerifiedBackup";
  /** Why, with the fix (no code prefix). */
  reason: string;
  /** Verified backups existed but every one failed its pre-restore hash check (BackupIntegrityFailed, not NoVerifiedBackup). */
  integrityFailed?: true;
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
  let candidates: BackupCandidate[];
  try {
    candidates = await deps.backups.listBackups(input.primary, deps.log);
  } catch (e) {
    throw toLifecycleError(e, { service: "storage", operation: "list backup manifests", resource: input.primary });
  }
  let chosen = selectLatestVerifiedBackup(candidates, input.primary, drillStart);
  const rejected: DrillFallback["rejected"] = [];
  // Hold the chosen backup against retention for the drill's length (one retention started deleting meanwhile
  // is passed over for the next newest), then re-hash it: one whose blobs changed since is passed over too.
  while (chosen !== undefined) {
    const folder = chosen.manifest.backup.folder;
    const passOver = (): void => {
      candidates = candidates.filter((c) => c.manifest.backup.folder !== folder);
      chosen = selectLatestVerifiedBackup(candidates, input.primary, drillStart);
    };
    if (deps.backups.reference !== undefined) {
      let held: boolean;
      try {
        held = await deps.backups.reference(input.primary, folder, input.drillId ?? "drill", new Date(Date.now() + DRILL_REFERENCE_MS));
      } catch (e) {
        throw toLifecycleError(e, { service: "storage", operation: "mark the chosen backup as used by the drill", resource: folder });
      }
      if (!held) {
        passOver();
        continue;
      }
    }
    if (input.checkBlobs === true && deps.backups.blobProblem !== undefined) {
      let problem: string | undefined;
      try {
        problem = await deps.backups.blobProblem(chosen);
      } catch (e) {
        throw toLifecycleError(e, { service: "storage", operation: "re-hash the chosen backup's blobs", resource: folder });
      }
      if (problem !== undefined) {
        rejected.push({ folder, reason: `its pre-restore hash check failed: ${problem}` });
        deps.log?.(`drill: backup ${folder} not restored: its pre-restore hash check failed; trying the next newest verified backup`);
        passOver();
        continue;
      }
    }
    break;
  }
  if (chosen === undefined && rejected.length > 0) {
    return {
      kind: "noVerifiedBackup",
      integrityFailed: true,
      reason: `Every verified backup of "${input.primary}" failed its pre-restore hash check, so nothing was restored: ${rejected.map((r) => `${r.folder}: ${r.reason}`).join("; ")}. Fix: do not restore from these; find out who can write the backup container, then take a new backup and rerun the drill.`,
    };
  }
  if (chosen === undefined) {
    const unverified = candidates.filter((c) => !c.verified).length;
    return {
      kind: "noVerifiedBackup",
      reason: `No verified backup of "${input.primary}" ended before ${input.drillStart} (${candidates.length} backup${candidates.length === 1 ? "" : "s"} found, ${unverified} unverified). Fix: run the backup workflow and let it verify, then rerun the drill.`,
    };
  }
  const b = chosen.manifest.backup;
  const found: FoundVerifiedBackup = { kind: "found", folder: b.folder, folderUrl: b.folderUrl, jobId: b.jobId, startTime: b.startTime, endTime: b.endTime, keyCount: chosen.manifest.keys.length, rpoMs: drillStart.getTime() - Date.parse(b.endTime) };
  // Newer backups that are not verified (a failed re-verification above all) are named, so the report says why
  // an older backup was restored.
  if (input.checkBlobs === true && deps.backups.unverifiedBackups !== undefined) {
    let unverified;
    try {
      unverified = await deps.backups.unverifiedBackups(input.primary);
    } catch (e) {
      throw toLifecycleError(e, { service: "storage", operation: "list the primary's unverified backups", resource: input.primary });
    }
    const end = Date.parse(b.endTime);
    for (const u of unverified) {
      const at = Date.parse(u.completedAt);
      // HSM job times are whole seconds: within one second the folder name (hundredths) tells which is newer.
      const newer = at > end || (at === end && u.folder > b.folder);
      if (newer && at <= drillStart.getTime() && !rejected.some((r) => r.folder === u.folder)) rejected.push({ folder: u.folder, reason: u.reason });
    }
  }
  if (rejected.length > 0) found.fallback = { restored: b.folder, rejected: rejected.sort((x, y) => (x.folder < y.folder ? 1 : -1)) };
  return found;
}
