import { resolveConfiguredInstance } from "../instances/resolveConfiguredInstance";
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

/**
 * The HSM a backup activity acts on: `input.hsmName` must be a primary HSM of the settings, and its URL comes
 * from there. An input carrying a URL (`hsmUrl`, or a URL as the name) is refused, never followed: the backup
 * identity's token and the backup container's SAS go only to configured HSMs.
 */
export function checkHsmInput(input: { hsmName?: unknown; hsmUrl?: unknown }, deps: Pick<BackupDeps, "hsms">, activity: string): { hsmName: string; hsmUrl: string } {
  const ref = "hsmUrl" in input ? { name: input.hsmName, url: input.hsmUrl } : input.hsmName;
  const hsm = resolveConfiguredInstance(ref, deps.hsms, activity);
  return { hsmName: hsm.name, hsmUrl: hsm.url };
}

/** The failure context of an admin call: a 403 names "HSM Lifecycle Backup" at scope "/". */
export const backupRoleContext = (operation: string, hsmUrl: string) =>
  ({ service: "managedHsm", operation, resource: hsmUrl, requiredRole: "HSM Lifecycle Backup", requiredScope: "/" }) as const;
