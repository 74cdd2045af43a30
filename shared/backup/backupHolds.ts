import type { ContainerClient } from "@azure/storage-blob";
import { storageFailure } from "../storage/storageFailure";
import { streamText } from "../storage/streamText";

/** Where holds live, in DRILL_REPORTS_CONTAINER: `backup-holds/{folder}.json`. */
export const BACKUP_HOLD_PREFIX = "backup-holds/";

/** A drill's hold on a backup: retention keeps the backup until `referencedUntil` (it expires on its own). */
export interface BackupHold {
  referencedBy: string;
  referencedUntil: string;
}

export function backupHoldBlobName(folder: string): string {
  return `${BACKUP_HOLD_PREFIX}${folder}.json`;
}

/**
 * Writes (or extends) the hold on `folder`, keeping the later of an existing hold (another drill) and this one.
 * A small blob of its own in the reports container, not metadata on the manifest: the drill identity only reads
 * the backup container (least privilege) and the manifest's authenticated metadata stays untouched. Conditional
 * writes (If-None-Match / If-Match) so two drills holding one backup never shorten each other's hold.
 */
export async function writeBackupHold(holds: ContainerClient, folder: string, by: string, until: Date): Promise<void> {
  const blob = holds.getBlockBlobClient(backupHoldBlobName(folder));
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const existing = await readHold(holds, folder);
      const keepExisting = existing !== undefined && Date.parse(existing.hold.referencedUntil) > until.getTime();
      const hold: BackupHold = keepExisting ? existing.hold : { referencedBy: by, referencedUntil: until.toISOString() };
      const body = JSON.stringify(hold);
      await blob.upload(body, Buffer.byteLength(body), {
        blobHTTPHeaders: { blobContentType: "application/json" },
        conditions: existing === undefined ? { ifNoneMatch: "*" } : { ifMatch: existing.etag },
      });
      return;
    } catch (e) {
      const status = (e as { statusCode?: number }).statusCode;
      if (status === 409 || status === 412) continue; // another drill wrote it meanwhile: re-read
      throw storageFailure(e, "writing a drill's hold on a backup", `${holds.url.split("?")[0]}/${backupHoldBlobName(folder)}`);
    }
  }
  throw storageFailure(new Error("the hold blob kept changing under 5 conditional writes"), "writing a drill's hold on a backup", `${holds.url.split("?")[0]}/${backupHoldBlobName(folder)}`);
}

/** The hold on `folder` and its ETag, or undefined when there is none (or it is unreadable as a hold). */
async function readHold(holds: ContainerClient, folder: string): Promise<{ hold: BackupHold; etag: string } | undefined> {
  let text: string;
  let etag: string;
  try {
    const res = await holds.getBlobClient(backupHoldBlobName(folder)).download();
    etag = res.etag ?? "";
    text = await streamText(res.readableStreamBody);
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return undefined;
    throw e;
  }
  const hold = parseHold(text);
  // A malformed hold is replaced (If-Match on its ETag) rather than trusted.
  return { hold: hold ?? { referencedBy: "", referencedUntil: new Date(0).toISOString() }, etag };
}

/**
 * Every hold still in force at `now` in the reports container: folder → hold. Retention reads these; a hold it
 * cannot parse holds nothing (the drill rewrites it), an expired one is ignored.
 */
export async function activeBackupHolds(holds: ContainerClient, now: Date): Promise<Map<string, BackupHold>> {
  const out = new Map<string, BackupHold>();
  try {
    for await (const item of holds.listBlobsFlat({ prefix: BACKUP_HOLD_PREFIX })) {
      if (!item.name.endsWith(".json")) continue;
      const folder = item.name.slice(BACKUP_HOLD_PREFIX.length, -".json".length);
      const found = await readHold(holds, folder);
      if (found !== undefined && Date.parse(found.hold.referencedUntil) > now.getTime()) out.set(folder, found.hold);
    }
  } catch (e) {
    throw storageFailure(e, "reading the drills' holds on backups", `${holds.url.split("?")[0]}/${BACKUP_HOLD_PREFIX}`);
  }
  return out;
}

/** The hold on `folder` if one is in force at `now`. */
export async function backupHoldOf(holds: ContainerClient, folder: string, now: Date): Promise<BackupHold | undefined> {
  let found: Awaited<ReturnType<typeof readHold>>;
  try {
    found = await readHold(holds, folder);
  } catch (e) {
    throw storageFailure(e, "reading a drill's hold on a backup", `${holds.url.split("?")[0]}/${backupHoldBlobName(folder)}`);
  }
  return found !== undefined && Date.parse(found.hold.referencedUntil) > now.getTime() ? found.hold : undefined;
}

function parseHold(text: string): BackupHold | undefined {
  try {
    const v = JSON.parse(text) as Partial<BackupHold> | null;
    if (typeof v?.referencedBy !== "string" || typeof v.referencedUntil !== "string" || Number.isNaN(Date.parse(v.referencedUntil))) return undefined;
    return { referencedBy: v.referencedBy, referencedUntil: v.referencedUntil };
  } catch {
    return undefined;
  }
}
