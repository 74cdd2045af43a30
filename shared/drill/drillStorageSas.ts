import type { BlobServiceClient } from "@azure/storage-blob";
import { shortLivedContainerSas } from "../storage/backupContainerSas";

/**
 * Permissions the drill's admin jobs need on the backup container when `BACKUP_AUTH=sas`: the DR self-backup
 * writes (`crdw`), a restore / pre-restore / selective restore only reads (`rl`).
 */
export type DrillSasPermissions = "crdw" | "rl";

/** Issues a short-lived container SAS; the result is a secret (never returned from an activity or logged). */
export type DrillStorageSas = (permissions: DrillSasPermissions) => Promise<string>;

/**
 * The SAS source for `BACKUP_AUTH=sas` (user delegation with a token credential, the account key only for a
 * shared-key client such as Azurite). Leave `DrillDeps.storageSas` unset for managed identity.
 */
export function drillStorageSas(service: BlobServiceClient, containerName: string, validForMs: number, now: () => Date = () => new Date()): DrillStorageSas {
  return (permissions) => shortLivedContainerSas(service, containerName, permissions, { now: now(), validForMs });
}
