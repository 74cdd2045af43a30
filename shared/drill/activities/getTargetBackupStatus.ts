import type { AdminJobSnapshot } from "../adminJobSnapshot";
import { readAdminJob } from "./adminJobs";
import type { DrillDeps } from "./deps";
import { guardDrillTarget } from "./targetGuard";

export interface GetDrillTargetBackupStatusInput {
  primary: string;
  target: string;
  jobId: string;
}

/**
 * Activity `getDrillTargetBackupStatus`: one read of the DR self-backup job. A Failed job is a value, not an
 * exception: the orchestration ends the drill (nothing was restored) and reports why.
 */
export async function getDrillTargetBackupStatus(input: GetDrillTargetBackupStatusInput, deps: DrillDeps): Promise<AdminJobSnapshot> {
  const { targetUrl } = guardDrillTarget(deps, input);
  return readAdminJob(deps, targetUrl, "backup", input.jobId);
}
