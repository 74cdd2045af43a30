import type { ContainerClient } from "@azure/storage-blob";
import { storageFailure } from "../storage/storageFailure";
import { streamText } from "../storage/streamText";

/**
 * Where a running backup's hold lives: `backup-holds/{hsm}.json` in BACKUP_CONTAINER itself (the backup identity
 * writes there already; it has no write on the reports container, where the drills' holds live). Outside every
 * `mhsm-…` folder and `manifests/`, so it is never taken for backup content.
 */
export const RUNNING_BACKUP_HOLD_PREFIX = "backup-holds/";

/**
 * A running backup's hold on the folder its job writes. The folder's name is known only when the job ends, so the
 * hold covers every folder of the HSM created at or after `since` (the run's start less ADMIN_JOB_TIMEOUT, so an
 * adopted job's folder is covered too). Written when the job starts, released (made to expire) once the manifest is
 * written; `referencedUntil` lets the hold of a crashed run expire on its own.
 */
export interface RunningBackupHold {
  hsmName: string;
  referencedBy: string;
  since: string;
  referencedUntil: string;
}

export function runningBackupHoldBlobName(hsmName: string): string {
  return `${RUNNING_BACKUP_HOLD_PREFIX}${hsmName}.json`;
}

/** Writes the hold (one backup per HSM at a time, by the HSM's lock, so the newest run's hold replaces any other). */
export async function writeRunningBackupHold(container: ContainerClient, hold: RunningBackupHold): Promise<void> {
  const body = JSON.stringify(hold);
  try {
    await container.getBlockBlobClient(runningBackupHoldBlobName(hold.hsmName)).upload(body, Buffer.byteLength(body), { blobHTTPHeaders: { blobContentType: "application/json" } });
  } catch (e) {
    throw storageFailure(e, "writing a running backup's hold on its folder", `${where(container)}/${runningBackupHoldBlobName(hold.hsmName)}`);
  }
}

/**
 * Releases the hold if it is still `runId`'s, by making it expire at `now` (If-Match: a later run's hold is never
 * touched). Not a delete: the backup identity may write the backup container but never delete in it.
 */
export async function releaseRunningBackupHold(container: ContainerClient, hsmName: string, runId: string, now: Date): Promise<boolean> {
  const blob = container.getBlockBlobClient(runningBackupHoldBlobName(hsmName));
  try {
    const res = await blob.download();
    const hold = parseHold(await streamText(res.readableStreamBody));
    if (hold?.referencedBy !== runId || Date.parse(hold.referencedUntil) <= now.getTime()) return false;
    const body = JSON.stringify({ ...hold, referencedUntil: now.toISOString() });
    await blob.upload(body, Buffer.byteLength(body), { blobHTTPHeaders: { blobContentType: "application/json" }, conditions: { ifMatch: res.etag } });
    return true;
  } catch (e) {
    const status = (e as { statusCode?: number }).statusCode;
    if (status === 404 || status === 412) return false; // none, or replaced by a later run's hold
    throw storageFailure(e, "releasing a running backup's hold on its folder", `${where(container)}/${runningBackupHoldBlobName(hsmName)}`);
  }
}

/** Every running backup's hold in force at `now`. An unreadable hold holds nothing (its run rewrites it). */
export async function runningBackupHolds(container: ContainerClient, now: Date): Promise<RunningBackupHold[]> {
  const out: RunningBackupHold[] = [];
  try {
    for await (const item of container.listBlobsFlat({ prefix: RUNNING_BACKUP_HOLD_PREFIX })) {
      if (!item.name.endsWith(".json")) continue;
      let text: string;
      try {
        text = await streamText((await container.getBlobClient(item.name).download()).readableStreamBody);
      } catch (e) {
        if ((e as { statusCode?: number }).statusCode === 404) continue; // released meanwhile
        throw e;
      }
      const hold = parseHold(text);
      if (hold !== undefined && item.name === runningBackupHoldBlobName(hold.hsmName) && Date.parse(hold.referencedUntil) > now.getTime()) out.push(hold);
    }
  } catch (e) {
    throw storageFailure(e, "reading the running backups' holds", `${where(container)}/${RUNNING_BACKUP_HOLD_PREFIX}`);
  }
  return out;
}

function parseHold(text: string): RunningBackupHold | undefined {
  try {
    const v = JSON.parse(text) as Partial<RunningBackupHold> | null;
    if (typeof v?.hsmName !== "string" || typeof v.referencedBy !== "string") return undefined;
    if (typeof v.since !== "string" || Number.isNaN(Date.parse(v.since)) || typeof v.referencedUntil !== "string" || Number.isNaN(Date.parse(v.referencedUntil))) return undefined;
    return { hsmName: v.hsmName, referencedBy: v.referencedBy, since: v.since, referencedUntil: v.referencedUntil };
  } catch {
    return undefined;
  }
}

function where(container: ContainerClient): string {
  return container.url.split("?")[0] ?? "";
}
