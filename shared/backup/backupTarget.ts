import { LifecycleError } from "../errors/lifecycleError";
import { backupContainerSas } from "../storage/backupContainerSas";
import type { BackupDeps } from "./backupDeps";

/** The container URL the HSM writes into, plus the SAS when `BACKUP_AUTH=sas` (kept in memory only). */
export interface BackupTarget {
  containerUrl: string;
  /** A secret: passed to the HSM and dropped; never returned from an activity or logged. */
  sas?: string;
}

export async function backupTarget(deps: BackupDeps): Promise<BackupTarget> {
  const containerUrl = deps.backupContainer.url.split("?")[0] ?? deps.backupContainer.url;
  if (deps.backupAuth !== "sas") return { containerUrl };
  const sas = await backupContainerSas(deps.blobService, deps.backupContainer.containerName, { now: deps.now(), validForMs: deps.adminJobTimeoutMs });
  return { containerUrl, sas };
}

/** Validates the `{hsmName, hsmUrl}` every backup activity gets, so bad input fails before any call. */
export function checkHsmInput(input: { hsmName?: unknown; hsmUrl?: unknown }, activity: string): { hsmName: string; hsmUrl: string } {
  const { hsmName, hsmUrl } = input;
  if (typeof hsmName !== "string" || hsmName === "" || typeof hsmUrl !== "string" || !/^https:\/\/[^/?#]+\/?$/.test(hsmUrl)) {
    throw new LifecycleError("BadParameter", `${activity} needs {hsmName, hsmUrl} with hsmUrl an https origin like https://myhsm.managedhsm.azure.net (got ${JSON.stringify({ hsmName, hsmUrl })}).`);
  }
  return { hsmName, hsmUrl: hsmUrl.replace(/\/+$/, "") };
}

/** The failure context of an admin call: a 403 names "HSM Lifecycle Backup" at scope "/". */
export const backupRoleContext = (operation: string, hsmUrl: string) =>
  ({ service: "managedHsm", operation, resource: hsmUrl, requiredRole: "HSM Lifecycle Backup", requiredScope: "/" }) as const;
