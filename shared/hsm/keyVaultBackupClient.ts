/**
 * Managed HSM full backup / restore / selective key restore client — the `KeyVaultBackupClient` of
 * `@azure/keyvault-admin` (not available in our registry), rebuilt on core-rest-pipeline, keyvault-common's
 * challenge policy and core-lro pollers. Same method names, wire bodies and results, so it works against
 * a real Managed HSM and against the local emulator alike.
 *
 * Example usage:
 * ```ts
 * const client = new KeyVaultBackupClient(hsmUrl, credential);
 * const poller = await client.beginBackup("https://acct.blob.core.windows.net/backups"); // managed identity
 * const { folderUri } = await poller.pollUntilDone();
 * const restore = await client.beginRestore(folderUri!);
 * ```
 */
import type { TokenCredential } from "@azure/core-auth";
import { createAdminPipeline, type AdminPipeline } from "./adminPipeline.js";
import { createAdminPoller, toDate, type AdminJobWire } from "./keyVaultAdminPoller.js";
import type {
  KeyVaultAdminPollOperationState,
  KeyVaultBackupClientOptions,
  KeyVaultBackupOperationState,
  KeyVaultBackupResult,
  KeyVaultBeginBackupOptions,
  KeyVaultBeginPreBackupOptions,
  KeyVaultBeginPreRestoreOptions,
  KeyVaultBeginRestoreOptions,
  KeyVaultBeginSelectiveKeyRestoreOptions,
  KeyVaultRestoreOperationState,
  KeyVaultRestoreResult,
  KeyVaultSelectiveKeyRestoreOperationState,
  KeyVaultSelectiveKeyRestoreResult,
  PollerLike,
} from "./keyVaultBackupClientModels.js";

type SasOrOptions<TOptions> = [sasToken?: string | TOptions, options?: TOptions];

export class KeyVaultBackupClient {
  /** The HSM URL this client talks to. */
  public readonly vaultUrl: string;
  private readonly pipeline: AdminPipeline;

  /**
   * @param vaultUrl - the Managed HSM URL, e.g. `https://myhsm.managedhsm.azure.net`
   * @param credential - a token credential (managed identity in Azure; the emulator's credential locally)
   * @param options - pipeline options: `tlsOptions`, `retryOptions`, `disableChallengeResourceVerification`, …
   */
  constructor(vaultUrl: string, credential: TokenCredential, options: KeyVaultBackupClientOptions = {}) {
    this.pipeline = createAdminPipeline(vaultUrl, credential, options);
    this.vaultUrl = this.pipeline.vaultUrl;
  }

  /**
   * Starts a full backup of the HSM into a Blob container.
   * @param blobStorageUri - the container URL (`https://acct.blob.core.windows.net/backups`)
   * @param sasToken - a container SAS with `crdw`; omit it to let the HSM write with its managed identity
   * @param options - poller options (`intervalInMs`, `resumeFrom`, `abortSignal`)
   */
  async beginBackup(
    blobStorageUri: string,
    ...rest: SasOrOptions<KeyVaultBeginBackupOptions>
  ): Promise<PollerLike<KeyVaultBackupOperationState, KeyVaultBackupResult>> {
    return await this.startJob("POST", "/backup", rest, (sas) => sasTokenParameter(blobStorageUri, sas), backupResult);
  }

  /**
   * Checks whether a full backup could run (storage reachable, permissions, no job running); writes nothing.
   * @param blobStorageUri - the container URL
   * @param sasToken - a container SAS; omit it for managed identity
   * @param options - poller options
   */
  async beginPreBackup(
    blobStorageUri: string,
    ...rest: SasOrOptions<KeyVaultBeginPreBackupOptions>
  ): Promise<PollerLike<KeyVaultBackupOperationState, KeyVaultBackupResult>> {
    return await this.startJob("POST", "/prebackup", rest, (sas) => sasTokenParameter(blobStorageUri, sas), backupResult);
  }

  /**
   * Starts a full restore from a backup folder. Destructive: replaces all keys and role assignments.
   * @param folderUri - the folder URL a backup returned (`result.folderUri`)
   * @param sasToken - a container SAS with `rl`; omit it for managed identity
   * @param options - poller options
   */
  async beginRestore(
    folderUri: string,
    ...rest: SasOrOptions<KeyVaultBeginRestoreOptions>
  ): Promise<PollerLike<KeyVaultRestoreOperationState, KeyVaultRestoreResult>> {
    const { folderName, containerUri } = folderUriParts(folderUri);
    return this.startJob("PUT", "/restore", rest, (sas) => ({ sasTokenParameters: sasTokenParameter(containerUri, sas), folderToRestore: folderName }), restoreResult);
  }

  /**
   * Checks whether a full restore from the folder could run; changes nothing.
   * @param folderUri - the backup folder URL
   * @param sasToken - a container SAS; omit it for managed identity
   * @param options - poller options
   */
  async beginPreRestore(
    folderUri: string,
    ...rest: SasOrOptions<KeyVaultBeginPreRestoreOptions>
  ): Promise<PollerLike<KeyVaultRestoreOperationState, KeyVaultRestoreResult>> {
    const { folderName, containerUri } = folderUriParts(folderUri);
    return this.startJob("PUT", "/prerestore", rest, (sas) => ({ sasTokenParameters: sasTokenParameter(containerUri, sas), folderToRestore: folderName }), restoreResult);
  }

  /**
   * Restores one key (all its versions) from a full backup folder. The key must not exist (purge it first).
   * @param keyName - the key to restore
   * @param folderUri - the backup folder URL
   * @param sasToken - a container SAS with `rl`; omit it for managed identity
   * @param options - poller options
   */
  async beginSelectiveKeyRestore(
    keyName: string,
    folderUri: string,
    ...rest: SasOrOptions<KeyVaultBeginSelectiveKeyRestoreOptions>
  ): Promise<PollerLike<KeyVaultSelectiveKeyRestoreOperationState, KeyVaultSelectiveKeyRestoreResult>> {
    const { folderName, containerUri } = folderUriParts(folderUri);
    return this.startJob(
      "PUT",
      `/keys/${encodeURIComponent(keyName)}/restore`,
      rest,
      (sas) => ({ sasTokenParameters: sasTokenParameter(containerUri, sas), folder: folderName }),
      restoreResult,
    );
  }

  /** The part every `begin*` shares: split the SAS/options overload, build the body, start the LRO poller. */
  private startJob<TOptions extends object, TResult>(
    method: "POST" | "PUT",
    path: string,
    rest: SasOrOptions<TOptions>,
    body: (sasToken: string | undefined) => Record<string, unknown>,
    toResult: (job: AdminJobWire) => TResult,
  ): Promise<PollerLike<KeyVaultAdminPollOperationState<TResult>, TResult>> {
    const [sasToken, options] = splitSas(rest);
    return createAdminPoller({ pipeline: this.pipeline, method, path, body: body(sasToken), options, toResult });
  }
}

/** keyvault-admin's overloads: `(uri, sas, options?)` or `(uri, options?)` (managed identity). */
function splitSas<TOptions extends object>(rest: SasOrOptions<TOptions>): [string | undefined, TOptions] {
  const [first, second] = rest;
  if (typeof first === "string") return [first, second ?? ({} as TOptions)];
  return [undefined, first ?? second ?? ({} as TOptions)];
}

function sasTokenParameter(storageResourceUri: string, sasToken: string | undefined): Record<string, unknown> {
  // Wire mapping as keyvault-admin: a SAS means "use this token"; no SAS means the HSM's managed identity.
  const token = sasToken?.replace(/^\?/, "");
  return token === undefined
    ? { storageResourceUri, useManagedIdentity: true }
    : { storageResourceUri, token, useManagedIdentity: false };
}

/** Splits `<container URL>/<folder>` as keyvault-admin's `mappings.folderUriParts` does. */
export function folderUriParts(folderUri: string): { folderName: string; containerUri: string } {
  const parts = folderUri.split("/");
  const folderName = parts.pop();
  if (!folderName) {
    throw new Error("The provided folder URI is missing the folder name.");
  }
  return { folderName, containerUri: parts.join("/") };
}

function backupResult(job: AdminJobWire): KeyVaultBackupResult {
  return {
    folderUri: job.azureStorageBlobContainerUri ?? undefined,
    startTime: toDate(job.startTime),
    endTime: toDate(job.endTime),
  };
}

function restoreResult(job: AdminJobWire): KeyVaultRestoreResult {
  return { startTime: toDate(job.startTime), endTime: toDate(job.endTime) };
}
