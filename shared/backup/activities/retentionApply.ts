import { LifecycleError } from "../../errors/lifecycleError";
import { storageFailure } from "../../storage/storageFailure";
import type { BackupDeps } from "../backupDeps";
import { activeBackupHolds, backupHoldOf } from "../backupHolds";
import { listBackupRecords, type IgnoredManifest } from "../listBackupRecords";
import { manifestMacKeys } from "../manifestTrust";
import { reportIgnoredManifests } from "../reportIgnoredManifests";
import { folderOfManifestBlob, MANIFEST_PREFIX, manifestBlobName } from "../backupManifest";
import { manifestMetadataKeys } from "../manifestMetadata";
import { planRetention, type RetentionPlan, type RetentionPolicy } from "../planRetention";
import { planFolderCleanup, type FolderCleanupPlan } from "../planFolderCleanup";
import { runningBackupHolds } from "../runningBackupHolds";

export interface ApplyBackupRetentionInput {
  policy: RetentionPolicy;
  /** ISO time from the orchestration's clock (`context.df.currentUtcDateTime`), so replays plan the same. */
  now: string;
  /** List what would be deleted and why each other backup is kept; delete nothing. */
  dryRun: boolean;
  /** Only this HSM's backups; all when omitted. */
  hsmName?: string;
}

export interface ApplyBackupRetentionOutput {
  dryRun: boolean;
  plan: RetentionPlan;
  /** Folders actually deleted (empty on a dry run). */
  deleted: string[];
  /** Folders no manifest describes (DR self-backups, leftovers): kept or deleted, and why. */
  folders?: FolderCleanupPlan;
  /** Of those, deleted (empty on a dry run). */
  foldersDeleted?: string[];
  /** Manifest blobs that failed authentication: not trusted, never deleted, logged and audited. */
  ignored: IgnoredManifest[];
}

/**
 * Activity applying retention: lists the backups (manifest metadata), plans with {@link planRetention} and,
 * unless `dryRun`, deletes each planned backup's folder blobs and then its manifest. The plan is made HERE
 * from the current listing, never taken from the caller, so a stale plan cannot delete a backup that has
 * since become the newest verified one or been pinned.
 *
 * Crash safety: the manifest is first marked `retiring` (so the backup is no longer "verified" anywhere),
 * then the folder is deleted, then the manifest. A retry after a crash finds the retiring backup unverified
 * and finishes the job; no half-deleted backup is ever offered as verified.
 *
 * Folders no manifest describes (the drills' DR self-backups, leftovers of backups whose manifest was never
 * written) fall under retention too, by {@link planFolderCleanup} with `policy.daily` days.
 */
export async function applyBackupRetention(input: ApplyBackupRetentionInput, deps: BackupDeps): Promise<ApplyBackupRetentionOutput> {
  const now = new Date(input?.now);
  if (typeof input?.now !== "string" || Number.isNaN(now.getTime())) {
    throw new LifecycleError("BadParameter", `applyBackupRetention needs now as an ISO time (got ${JSON.stringify(input?.now)}).`);
  }
  if (typeof input.dryRun !== "boolean") {
    throw new LifecycleError("BadParameter", "applyBackupRetention needs dryRun: true or false (no default, so a missing flag never deletes).");
  }
  let plan: RetentionPlan;
  // Only authenticated backups count, for keeping as much as for deleting: a forged "newer verified" backup
  // cannot push a real one out, and a forged name cannot make a deletion reach other blobs.
  const ignored: IgnoredManifest[] = [];
  const listed = await listBackupRecords(deps.backupContainer, input.hsmName, { auth: deps.manifestAuth, onIgnored: (i) => ignored.push(i) });
  // A drill's hold (a blob in the reports container, see backupHolds) keeps its backup while it lasts.
  const holds = deps.holdsContainer === undefined ? new Map<string, { referencedUntil: string }>() : await activeBackupHolds(deps.holdsContainer, now);
  const records = listed.map((r) => {
    const hold = holds.get(r.folder);
    return hold === undefined ? r : { ...r, referencedUntil: hold.referencedUntil };
  });
  const containerUrl = deps.backupContainer.url.split("?")[0] ?? "";
  await reportIgnoredManifests(ignored, { workflow: "retention", container: containerUrl, now: deps.now() }, deps);
  try {
    plan = planRetention(records, input.policy, now);
  } catch (e) {
    throw new LifecycleError("SettingsInvalid", `Retention cannot be planned: ${(e as Error).message} Fix: RETENTION_DAILY/WEEKLY/MONTHLY must be non-negative integers.`, e);
  }
  const unmanifested = await foldersWithoutManifest(deps.backupContainer);
  // Read AFTER listing the folders: a backup writes its hold before its job creates the folder, so every folder
  // listed above that a running backup writes is covered by a hold read here.
  const running = await runningBackupHolds(deps.backupContainer, now);
  const folders = planFolderCleanup(unmanifested, now, input.policy.daily, running);
  if (input.dryRun) return { dryRun: true, plan, deleted: [], ignored, folders, foldersDeleted: [] };

  const container = deps.backupContainer;
  const deleted: string[] = [];
  // A backup whose verified mark was tampered with is kept for an operator to look at, never deleted by us.
  const untrusted = new Set(ignored.map((i) => i.blob));
  for (const victim of plan.delete) {
    if (untrusted.has(manifestBlobName(victim.folder))) continue;
    const manifest = container.getBlockBlobClient(manifestBlobName(victim.folder));
    const where = `${container.url.split("?")[0]}/${victim.folder}`;
    try {
      const props = await manifest.getProperties();
      const metadata = props.metadata ?? {};
      // Pinned between the listing and now: the operator's pin wins.
      if ((metadata[manifestMetadataKeys.pinned] ?? "").toLowerCase() === "true") continue;
      // Replaced since the listing: delete only what is still the authenticated record that was planned.
      const m = Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k.toLowerCase(), v]));
      const parts = ["record", victim.hsmName, victim.folder, m[manifestMetadataKeys.jobId] ?? "", m[manifestMetadataKeys.completedAt] ?? ""];
      if (!deps.manifestAuth.verify(parts, m[manifestMacKeys.record])) continue;
      // If-Match: a pin set between the check above and this write makes it fail (412) instead of being lost.
      const marked = await manifest.setMetadata({ ...metadata, [manifestMetadataKeys.retiring]: deps.now().toISOString() }, { conditions: { ifMatch: props.etag } });
      // A drill writes its hold, then checks for `retiring`; we mark `retiring`, then check for a hold: a drill
      // that chose this backup meanwhile is seen here (and we step back), or it sees the mark and picks another.
      if (deps.holdsContainer !== undefined && (await backupHoldOf(deps.holdsContainer, victim.folder, deps.now())) !== undefined) {
        await manifest.setMetadata(metadata, { conditions: { ifMatch: marked.etag } });
        continue;
      }
      for await (const blob of container.listBlobsFlat({ prefix: `${victim.folder}/` })) {
        await container.deleteBlob(blob.name, { deleteSnapshots: "include" });
      }
      await manifest.delete({ deleteSnapshots: "include" });
    } catch (e) {
      throw storageFailure(e, `deleting the expired backup ${victim.folder}`, where);
    }
    deleted.push(victim.folder);
  }
  const foldersDeleted: string[] = [];
  for (const victim of folders.delete) {
    try {
      // A manifest written since the listing (its backup's hold already released): a backup now, not a leftover.
      if (await container.getBlockBlobClient(manifestBlobName(victim.folder)).exists()) continue;
      for await (const blob of container.listBlobsFlat({ prefix: `${victim.folder}/` })) {
        await container.deleteBlob(blob.name, { deleteSnapshots: "include" }).catch((e: { statusCode?: number }) => {
          if (e.statusCode !== 404) throw e; // another HSM's retention got there first
        });
      }
    } catch (e) {
      throw storageFailure(e, `deleting the folder ${victim.folder} (no manifest)`, `${container.url.split("?")[0]}/${victim.folder}`);
    }
    foldersDeleted.push(victim.folder);
  }
  return { dryRun: false, plan, deleted, ignored, folders, foldersDeleted };
}

/** Top-level `mhsm-…` folders of the backup container that no manifest blob names (whoever wrote it). */
async function foldersWithoutManifest(container: BackupDeps["backupContainer"]): Promise<string[]> {
  const manifested = new Set<string>();
  const out: string[] = [];
  try {
    for await (const item of container.listBlobsFlat({ prefix: MANIFEST_PREFIX })) {
      const folder = folderOfManifestBlob(item.name);
      if (folder !== undefined) manifested.add(folder);
    }
    for await (const item of container.listBlobsByHierarchy("/", { prefix: "mhsm-" })) {
      if (item.kind !== "prefix") continue;
      const folder = item.name.replace(/\/$/, "");
      if (!manifested.has(folder)) out.push(folder);
    }
  } catch (e) {
    throw storageFailure(e, "listing backup folders", `${container.url.split("?")[0]}/mhsm-*`);
  }
  return out;
}
