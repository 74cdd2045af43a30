import { fromRestError, isRestErrorLike, toLifecycleError } from "../../errors/fromRestError";
import { LifecycleError } from "../../errors/lifecycleError";
import { KeyVaultBackupClient } from "../../hsm/keyVaultBackupClient";
import { assertFolderUrl } from "../../drill/activities/preRestoreCheck";
import type { BackupCandidate } from "../../drill/backupCandidate";
import type { InstanceSetting } from "../../config/settings";
import { resolveConfiguredInstance, type InstanceRef } from "../../instances/resolveConfiguredInstance";
import type { RecoveryDeps } from "../recoveryDeps";

export interface RecoverKeyInput {
  request: string;
  instance: InstanceRef;
  key: string;
  /** Restore from this backup folder instead of the newest verified one that holds the key. */
  backupFolder?: string;
}

export type RecoverKeyOutput =
  | { path: "recovered"; versions: string[] }
  | { path: "restored"; folder: string; jobId: string; backupEndTime: string; expectedVersions: string[]; versions: string[] };

const KEY_NAME = /^[0-9A-Za-z-]{1,127}$/;
const ROLE = "HSM Lifecycle Recovery" as const;

/** What a recovery would do, found without changing anything (the request starter asks first; `recoverKey` again). */
export type RecoveryPlan =
  | { path: "recover"; hsm: InstanceSetting }
  | { path: "restore"; hsm: InstanceSetting; backup: BackupCandidate };

/**
 * Decides, reading only, how `key` of a primary HSM comes back: soft-deleted → recover; purged → restore from the
 * newest VERIFIED, authenticated backup whose manifest lists the key (or the one `backupFolder` names, which must be
 * such a backup). Refuses (LifecycleError) a key that exists and is not deleted, an unknown instance, a bad name,
 * a folder that is not such a backup, and a key no verified backup holds.
 */
export async function planKeyRecovery(input: Omit<RecoverKeyInput, "request">, deps: RecoveryDeps): Promise<RecoveryPlan> {
  const primaries = deps.settings.hsms.filter((h) => h.role === "primary");
  const hsm = resolveConfiguredInstance(input.instance, primaries, "key recovery");
  if (!KEY_NAME.test(input.key)) throw new LifecycleError("BadParameter", `"${input.key}" is not a key name (1-127 letters, digits and hyphens).`);
  const keys = deps.keyClients.keys(hsm.url);
  const context = (operation: string) => ({ service: "managedHsm" as const, operation, resource: `${hsm.url}/keys/${input.key}`, requiredRole: ROLE });
  if (await exists(() => firstVersion(deps, hsm.url, input.key), context("read the key"))) {
    throw new LifecycleError("Conflict", `${hsm.name} already has a key "${input.key}" that is not deleted: nothing to recover. Fix: check the key name; rotate it instead if it is compromised.`);
  }
  // Soft-deleted: recovering is cheaper than a restore and loses nothing (a backup may be older than the last version).
  if (await exists(() => keys.getDeletedKey(input.key), context("read the deleted key"))) return { path: "recover", hsm };
  let candidates: BackupCandidate[];
  try {
    candidates = await deps.backups.listBackups(hsm.name, deps.log);
  } catch (e) {
    throw toLifecycleError(e, { service: "storage", operation: "list backup manifests", resource: hsm.name });
  }
  const holding = candidates.filter((c) => c.verified && c.manifest.hsm.name === hsm.name && c.manifest.keys.some((k) => k.name === input.key));
  if (input.backupFolder !== undefined) {
    const named = holding.find((c) => c.manifest.backup.folder === input.backupFolder);
    if (named === undefined) {
      throw new LifecycleError(
        "NoVerifiedBackup",
        `The backup folder "${input.backupFolder}" is not a verified backup of ${hsm.name} in the backup container that holds key "${input.key}". Fix: pick a folder from the backup manifests, or omit --backup for the newest verified one.`,
      );
    }
    return { path: "restore", hsm, backup: named };
  }
  const newest = holding.reduce<BackupCandidate | undefined>((best, c) => (best === undefined || Date.parse(c.manifest.backup.endTime) > Date.parse(best.manifest.backup.endTime) ? c : best), undefined);
  if (newest === undefined) {
    throw new LifecycleError(
      "NoVerifiedBackup",
      `${hsm.name} has no key "${input.key}", not even a deleted one, and none of its ${candidates.length} verified backup(s) holds it. Fix: check the key name; a key purged before any verified backup cannot be recovered.`,
    );
  }
  return { path: "restore", hsm, backup: newest };
}

/**
 * Activity `recoverKey` (run once, never retried by durable: a second attempt would find the key back and refuse):
 * brings one key of a primary HSM back as `planKeyRecovery` decides, right now — recoverDeletedKey (every version,
 * nothing lost) or a selective key restore (all its versions) from the chosen backup. Runs as the recovery identity.
 */
export async function recoverKey(input: RecoverKeyInput, deps: RecoveryDeps): Promise<RecoverKeyOutput> {
  const plan = await planKeyRecovery(input, deps);
  const { hsm } = plan;
  const context = (operation: string) => ({ service: "managedHsm" as const, operation, resource: `${hsm.url}/keys/${input.key}`, requiredRole: ROLE });
  if (plan.path === "recover") {
    try {
      const poller = await deps.keyClients.keys(hsm.url).beginRecoverDeletedKey(input.key, { intervalInMs: 250 });
      await poller.pollUntilDone();
    } catch (e) {
      throw fromRestError(e, context("recover the deleted key"));
    }
    deps.log?.(`${input.request}: ${hsm.name}/${input.key} was soft-deleted; recovered.`);
    return { path: "recovered", versions: await versionsOf(deps, hsm.url, input.key, context("list the recovered key's versions")) };
  }
  const manifest = plan.backup.manifest;
  const backup = manifest.backup;
  assertFolderUrl(backup.folderUrl, deps.backupContainerUrl);
  let jobId: string;
  try {
    const client = new KeyVaultBackupClient(hsm.url, deps.credential, deps.adminOptions);
    const sas = await deps.storageSas?.("rl");
    const poller = sas === undefined ? await client.beginSelectiveKeyRestore(input.key, backup.folderUrl) : await client.beginSelectiveKeyRestore(input.key, backup.folderUrl, sas);
    jobId = poller.getOperationState().jobId ?? "";
    await poller.pollUntilDone();
  } catch (e) {
    if (e instanceof LifecycleError) throw e;
    if (isRestErrorLike(e)) throw fromRestError(e, { service: "managedHsm", operation: `selective restore of ${input.key} from ${backup.folder}`, resource: hsm.url, requiredRole: ROLE, requiredScope: "/" });
    throw new LifecycleError("JobFailed", `The selective restore of ${input.key} from ${backup.folder} into ${hsm.name} failed: ${(e as Error).message}`);
  }
  deps.log?.(`${input.request}: ${hsm.name}/${input.key} restored from backup ${backup.folder} (job ${jobId}).`);
  const expectedVersions = manifest.keys.find((k) => k.name === input.key)?.versions.map((v) => v.version) ?? [];
  return { path: "restored", folder: backup.folder, jobId, backupEndTime: backup.endTime, expectedVersions, versions: await versionsOf(deps, hsm.url, input.key, context("list the restored key's versions")) };
}

async function firstVersion(deps: RecoveryDeps, url: string, name: string): Promise<unknown> {
  for await (const v of deps.keyClients.keys(url).listPropertiesOfKeyVersions(name)) return v;
  throw Object.assign(new Error("no versions"), { statusCode: 404 });
}

/** Whether the read finds something (404 = no); any other failure names the role and the fix. */
async function exists(read: () => Promise<unknown>, context: Parameters<typeof fromRestError>[1]): Promise<boolean> {
  try {
    await read();
    return true;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return false;
    throw fromRestError(e, context);
  }
}

async function versionsOf(deps: RecoveryDeps, url: string, name: string, context: Parameters<typeof fromRestError>[1]): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const v of deps.keyClients.keys(url).listPropertiesOfKeyVersions(name)) out.push(v.version ?? "");
  } catch (e) {
    throw fromRestError(e, context);
  }
  return out.sort();
}
