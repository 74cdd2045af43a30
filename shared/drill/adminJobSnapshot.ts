import type { AdminJobWire } from "../hsm/keyVaultAdminPoller";

/** An admin job (backup, restore, pre-restore, selective restore) as one status read shows it; JSON-safe. */
export interface AdminJobSnapshot {
  jobId: string;
  status: "InProgress" | "Succeeded" | "Failed" | "Canceled";
  /** ISO instants from the HSM's own job timestamps (whole seconds on the wire). */
  startTime?: string;
  endTime?: string;
  /** Backups only: the folder the HSM wrote (`<container>/mhsm-<name>-<timestamp>`). */
  folderUrl?: string;
  /** Failed/Canceled: the service's code and text (no SAS: the service never echoes tokens). */
  error?: { code: string; message: string };
}

export function toAdminJobSnapshot(jobId: string, job: AdminJobWire): AdminJobSnapshot {
  const raw = job.status ?? "InProgress";
  const status: AdminJobSnapshot["status"] = raw === "Succeeded" || raw === "Failed" || raw === "Canceled" ? raw : "InProgress";
  const snap: AdminJobSnapshot = { jobId: job.jobId ?? jobId, status };
  const start = isoFromSeconds(job.startTime);
  const end = isoFromSeconds(job.endTime);
  if (start !== undefined) snap.startTime = start;
  if (end !== undefined) snap.endTime = end;
  if (job.azureStorageBlobContainerUri) snap.folderUrl = job.azureStorageBlobContainerUri;
  if (status === "Failed" || status === "Canceled") {
    snap.error = { code: job.error?.code ?? status, message: job.error?.message ?? job.statusDetails ?? `The job ended ${status} without details.` };
  }
  return snap;
}

/** Unix seconds (the wire format; null/0 while running) → ISO. */
export function isoFromSeconds(seconds: number | null | undefined): string | undefined {
  return seconds === null || seconds === undefined || seconds === 0 ? undefined : new Date(seconds * 1000).toISOString();
}
