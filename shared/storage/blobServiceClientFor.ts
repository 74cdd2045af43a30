import type { TokenCredential } from "@azure/core-auth";
import { BlobServiceClient, type StoragePipelineOptions } from "@azure/storage-blob";
import { LifecycleError } from "../errors/lifecycleError";

export interface StorageLocation {
  /** The app's storage account endpoint, used with its managed identity (production). */
  accountUrl?: string;
  /** A connection string (local development with Azurite); a secret, never logged. */
  connectionString?: string;
}

/**
 * The one place a `BlobServiceClient` is built from settings: a connection string wins (Azurite), otherwise
 * the account URL with the app's token credential (managed identity, "Storage Blob Data Contributor").
 */
export function blobServiceClientFor(location: StorageLocation, credential: TokenCredential | undefined, options: StoragePipelineOptions = {}): BlobServiceClient {
  if (location.connectionString) return BlobServiceClient.fromConnectionString(location.connectionString, options);
  if (location.accountUrl) {
    if (credential === undefined) {
      throw new LifecycleError("SettingsInvalid", "STORAGE_ACCOUNT_URL is set but no credential was given. Fix: run with a managed identity (or set STORAGE_CONNECTION_STRING for local development).");
    }
    return new BlobServiceClient(location.accountUrl, credential, options);
  }
  throw new LifecycleError("SettingsInvalid", "No storage account configured. Fix: set STORAGE_ACCOUNT_URL (managed identity) or STORAGE_CONNECTION_STRING (local development).");
}
