/** What a 409 from `POST /backup` says about the admin job that holds the HSM's single job slot. */
export type RunningJob =
  | { kind: "backup"; jobId: string }
  | { kind: "other"; jobId?: string; description: string }
  | { kind: "unknown" };

/**
 * Reads the running job from a 409 Conflict: first a status link in `Azure-AsyncOperation` / `Location`
 * (`…/backup/{id}/pending`), then the message. The emulator says
 * `Another admin job is running on this HSM: backup job {id} (started …; poll GET /backup/{id}/pending)`;
 * a pre-backup check holds the same slot and is polled at the same URL, so only a message or link that
 * names a *backup* job may be adopted — adopting a pre-backup would "finish" without any backup folder.
 */
export function runningJobFromConflict(message: string, headers: Record<string, string | undefined> = {}): RunningJob {
  const named = /(^|[^A-Za-z])(backup|prebackup|restore|prerestore|selectiveKeyRestore) job ([0-9A-Za-z-]{8,})/.exec(message);
  if (named) {
    const kind = named[2] as string;
    const jobId = named[3] as string;
    return kind === "backup" ? { kind: "backup", jobId } : { kind: "other", jobId, description: `${kind} job ${jobId}` };
  }
  for (const header of ["azure-asyncoperation", "location"]) {
    const link = headers[header];
    const match = link === undefined ? null : /\/(backup|restore)\/([0-9A-Za-z-]+)\/pending/.exec(link);
    if (match) {
      return match[1] === "backup" ? { kind: "backup", jobId: match[2] as string } : { kind: "other", jobId: match[2] as string, description: `restore job ${match[2] as string}` };
    }
  }
  return { kind: "unknown" };
}
