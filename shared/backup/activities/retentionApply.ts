import { LifecycleError } from "../../errors/lifecycleError";
import { storageFailure } from "../../storage/storageFailure";
import type { BackupDeps } from "../backupDeps";
import { listBackupRecords, type IgnoredManifest } from "../listBackupRecords";
import { manifestMacKeys } from "../manifestTrust";
import { reportIgnoredManifests } from "../reportIgnoredManifests";
import { manifestBlobName } from "../backupManifest";
import { manifestMetadataKeys } from "../manifestMetadata";
import { planRetention, type RetentionPlan, type RetentionPolicy } from "../planRetention";

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
  const records = await listBackupRecords(deps.backupContainer, input.hsmName, { auth: deps.manifestAuth, onIgnored: (i) => ignored.push(i) });
  const containerUrl = deps.backupContainer.url.split("?")[0] ?? "";
  await reportIgnoredManifests(ignored, { workflow: "retention", container: containerUrl, now: deps.now() }, deps);
  try {
    plan = planRetention(records, input.policy, now);
  } catch (e) {
    throw new LifecycleError("SettingsInvalid", `Retention cannot be planned: ${(e as Error).message} Fix: RETENTION_DAILY/WEEKLY/MONTHLY must be non-negative integers.`, e);
  }
  if (input.dryRun) return { dryRun: true, plan, deleted: [], ignored };

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
      await manifest.setMetadata({ ...metadata, [manifestMetadataKeys.retiring]: deps.now().toISOString() }, { conditions: { ifMatch: props.etag } });
      for await (const blob of container.listBlobsFlat({ prefix: `${victim.folder}/` })) {
        await container.deleteBlob(blob.name, { deleteSnapshots: "include" });
      }
      await manifest.delete({ deleteSnapshots: "include" });
    } catch (e) {
      throw storageFailure(e, `deleting the expired backup ${victim.folder}`, where);
    }
    deleted.push(victim.folder);
  }
  return { dryRun: false, plan, deleted, ignored };
}
