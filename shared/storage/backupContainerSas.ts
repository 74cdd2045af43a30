import {
  ContainerSASPermissions,
  generateBlobSASQueryParameters,
  SASProtocol,
  StorageSharedKeyCredential,
  type BlobServiceClient,
} from "@azure/storage-blob";
import { storageFailure } from "./storageFailure";

/** The only permissions a Managed HSM full backup needs on its container (create, read, delete, write). */
export const BACKUP_SAS_PERMISSIONS = "crdw";

export interface BackupSasOptions {
  now: Date;
  /** How long the HSM may use the SAS: the whole job must fit (the service writes until the job ends). */
  validForMs: number;
}

/**
 * A short-lived container SAS with exactly `crdw`, for `BACKUP_AUTH=sas`. With a token credential (managed
 * identity) it is a user-delegation SAS (revocable, no account key involved); only a shared-key client (a
 * connection string, i.e. Azurite or a legacy account) signs with the account key. The returned query string
 * is a secret: pass it straight to `beginBackup`, never into logs, activity results or durable history.
 */
export async function backupContainerSas(service: BlobServiceClient, containerName: string, options: BackupSasOptions): Promise<string> {
  return shortLivedContainerSas(service, containerName, BACKUP_SAS_PERMISSIONS, options);
}

/** A container SAS with exactly `permissions` (user delegation with a token credential); a secret. */
export async function shortLivedContainerSas(service: BlobServiceClient, containerName: string, permissions: string, options: BackupSasOptions): Promise<string> {
  // Five minutes back: the HSM's clock may be behind ours, and a SAS that is not yet valid fails the job.
  const startsOn = new Date(options.now.getTime() - 5 * 60_000);
  const expiresOn = new Date(options.now.getTime() + options.validForMs);
  const values = {
    containerName,
    permissions: ContainerSASPermissions.parse(permissions),
    startsOn,
    expiresOn,
    protocol: service.url.startsWith("https:") ? SASProtocol.Https : SASProtocol.HttpsAndHttp,
  };
  if (service.credential instanceof StorageSharedKeyCredential) {
    return generateBlobSASQueryParameters(values, service.credential).toString();
  }
  try {
    const key = await service.getUserDelegationKey(startsOn, expiresOn);
    return generateBlobSASQueryParameters(values, key, service.accountName).toString();
  } catch (e) {
    throw storageFailure(e, "getUserDelegationKey (for a short-lived SAS)", service.url);
  }
}
