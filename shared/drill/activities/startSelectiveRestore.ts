import { fromRestError, isRestErrorLike } from "../../errors/fromRestError";
import { LifecycleError } from "../../errors/lifecycleError";
import { KeyVaultBackupClient } from "../../hsm/keyVaultBackupClient";
import type { DrillDeps } from "./deps";
import { assertFolderUrl } from "./preRestoreCheck";
import { requireDrillSafe } from "./checkSafety";

export interface StartSelectiveRestoreInput {
  primary: string;
  target: string;
  folderUrl: string;
  keyName: string;
}

export interface StartSelectiveRestoreOutput {
  jobId: string;
  startTime?: string;
  /** What had to be cleared on DR first: the service restores only a key that is absent (purged). */
  cleared: "absent" | "purgedSoftDeleted" | "deletedAndPurged";
}

const keyNamePattern = /^[0-9A-Za-z-]{1,127}$/;

/**
 * Activity `startSelectiveRestore`: restores ONE key (all its versions) from the primary's full backup into
 * the DR HSM. Managed HSM refuses it while the key exists or is soft-deleted on DR, so the key is deleted and
 * purged on DR first (DR only: the interlock runs again here). Lookups use list operations (no single-key GET).
 * Follow with `getRestoreStatus`.
 */
export async function startSelectiveRestore(input: StartSelectiveRestoreInput, deps: DrillDeps): Promise<StartSelectiveRestoreOutput> {
  // Destructive: both interlocks again (configuration and the HSMs' reported identities), right before the write.
  const { targetUrl } = await requireDrillSafe({ primary: input.primary, target: input.target }, deps);
  assertFolderUrl(input.folderUrl, deps.backupContainerUrl);
  if (!keyNamePattern.test(input.keyName)) {
    throw new LifecycleError("BadParameter", `"${input.keyName}" is not a key name (1-127 letters, digits and hyphens).`);
  }
  const keys = deps.keyClients.keys(targetUrl);
  const context = (operation: string) => ({ service: "managedHsm" as const, operation, resource: `${targetUrl}/keys/${input.keyName}`, requiredRole: "HSM Lifecycle Drill DR" as const });
  let cleared: StartSelectiveRestoreOutput["cleared"] = "absent";
  try {
    if (await existsActive(deps, targetUrl, input.keyName)) {
      const deleting = await keys.beginDeleteKey(input.keyName, { intervalInMs: 250 });
      await deleting.pollUntilDone();
      cleared = "deletedAndPurged";
    } else if (await existsDeleted(deps, targetUrl, input.keyName)) {
      cleared = "purgedSoftDeleted";
    }
    if (cleared !== "absent") {
      await keys.purgeDeletedKey(input.keyName);
      deps.log?.(`drill ${input.primary} → ${input.target}: key ${input.keyName} purged on DR before the selective restore.`);
    }
  } catch (e) {
    throw fromRestError(e, context("clear the key on the DR HSM before a selective restore"));
  }
  try {
    const client = new KeyVaultBackupClient(targetUrl, deps.credential, deps.adminOptions);
    const sas = await deps.storageSas?.("rl");
    const poller =
      sas === undefined ? await client.beginSelectiveKeyRestore(input.keyName, input.folderUrl) : await client.beginSelectiveKeyRestore(input.keyName, input.folderUrl, sas);
    const state = poller.getOperationState();
    if (state.jobId === undefined) throw new LifecycleError("Unexpected", `The DR HSM ${targetUrl} accepted the selective restore but returned no job id.`);
    const out: StartSelectiveRestoreOutput = { jobId: state.jobId, cleared };
    if (state.startTime !== undefined) out.startTime = state.startTime.toISOString();
    return out;
  } catch (e) {
    throw fromRestError(e, { service: "managedHsm", operation: `selective restore of ${input.keyName} into the DR HSM`, resource: targetUrl, requiredRole: "HSM Lifecycle Drill DR", requiredScope: "/" });
  }
}

async function existsActive(deps: DrillDeps, url: string, name: string): Promise<boolean> {
  try {
    for await (const _ of deps.keyClients.keys(url).listPropertiesOfKeyVersions(name)) return true;
    return false;
  } catch (e) {
    if (isRestErrorLike(e) && e.statusCode === 404) return false;
    throw e;
  }
}

async function existsDeleted(deps: DrillDeps, url: string, name: string): Promise<boolean> {
  for await (const d of deps.keyClients.keys(url).listDeletedKeys()) if (d.name === name) return true;
  return false;
}
