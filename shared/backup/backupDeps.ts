import type { TokenCredential } from "@azure/core-auth";
import { KeyClient } from "@azure/keyvault-keys";
import { ContainerClient, type BlobServiceClient, type StoragePipelineOptions } from "@azure/storage-blob";
import { isLoopbackUrl } from "../config/loopbackHost";
import type { InstanceSetting, Settings } from "../config/settings";
import { LifecycleError } from "../errors/lifecycleError";
import { createAdminPipeline, type AdminPipeline, type KeyVaultAdminClientOptions } from "../hsm/adminPipeline";
import { KeyVaultBackupClient } from "../hsm/keyVaultBackupClient";
import { manifestAuthenticator, type ManifestAuthenticator } from "./manifestAuthenticator";

/**
 * What the backup activities need, injected so the same handlers run on Azure (managed identity) and
 * against the emulator + Azurite (the emulator's credential and CA). Build it once per worker with
 * {@link createBackupDeps}.
 */
export interface BackupDeps {
  /** The primary HSMs of the settings: the only HSMs the backup activities call. */
  hsms: readonly Pick<InstanceSetting, "name" | "kind" | "url">[];
  /** Admin client for one HSM; the identity needs "Managed HSM Backup User" at scope "/". */
  backupClient(hsmUrl: string): KeyVaultBackupClient;
  /** Raw admin pipeline, for the one status GET whose `Retry-After` the poller does not expose. */
  adminPipeline(hsmUrl: string): AdminPipeline;
  /** Key client for the inventory; the identity needs "Managed HSM Crypto Auditor" (list + read properties). */
  keyClient(hsmUrl: string): KeyClient;
  /** The container backups, manifests and markers live in. */
  backupContainer: ContainerClient;
  blobService: BlobServiceClient;
  /** `BACKUP_COPY_CONTAINER_URL` (e.g. an immutable container) or undefined when no copy is configured. */
  copyContainer?: ContainerClient;
  backupAuth: Settings["storage"]["backupAuth"];
  /** A job still running after this long fails as timed out; also the lifetime of a backup SAS. */
  adminJobTimeoutMs: number;
  /** Single-key GETs the manifest may spend on key types (see keyInventory). */
  ktyLookupLimit: number;
  /** BACKUP_MANIFEST_KEY: MACs what the manifest writer and `verifyBackup` write, checked by every reader. */
  manifestAuth: ManifestAuthenticator;
  /** AUDIT_CONTAINER: manifests retention ignores are recorded there (absent: logged only). */
  auditContainer?: ContainerClient;
  /** DRILL_REPORTS_CONTAINER: the drills' holds on backups (`backup-holds/`), read by retention (absent: none). */
  holdsContainer?: ContainerClient;
  log?: (line: string) => void;
  now(): Date;
}

export interface CreateBackupDepsArgs {
  credential: TokenCredential;
  /** TLS trust, retries, `disableChallengeResourceVerification` (emulator mode; honoured for loopback hosts only). */
  hsmClientOptions?: KeyVaultAdminClientOptions;
  blobService: BlobServiceClient;
  settings: Pick<Settings, "adminJobTimeoutMs" | "hsms"> & { storage: Pick<Settings["storage"], "backupContainer" | "backupAuth" | "backupCopyContainerUrl" | "manifestKey"> & { auditContainer?: string; drillReportsContainer?: string } };
  /** The app's identity for a copy container in ANOTHER account (default: `credential`). */
  storageCredential?: TokenCredential;
  /**
   * Emulator mode only (the local stack's HTTPS Azurite): the CA that copy container is trusted with, honoured for
   * a loopback copy URL only. Azure's storage endpoints need no extra trust.
   */
  copyTlsCa?: string;
  ktyLookupLimit?: number;
  now?: () => Date;
}

export function createBackupDeps(args: CreateBackupDepsArgs): BackupDeps {
  const manifestKey = args.settings.storage.manifestKey;
  if (manifestKey === undefined) {
    throw new LifecycleError("SettingsInvalid", "BACKUP_MANIFEST_KEY is missing: backups need a manifest authentication key. Fix: `openssl rand -base64 32`, stored as a Key Vault reference.");
  }
  // Emulator mode's relaxed challenge check is for loopback hosts only, whatever the options say.
  const options = (hsmUrl: string): KeyVaultAdminClientOptions => {
    const o = { ...args.hsmClientOptions };
    if (o.disableChallengeResourceVerification === true && !isLoopbackUrl(hsmUrl)) delete o.disableChallengeResourceVerification;
    return o;
  };
  const deps: BackupDeps = {
    hsms: args.settings.hsms.filter((h) => h.role === "primary"),
    backupClient: (hsmUrl) => new KeyVaultBackupClient(hsmUrl, args.credential, options(hsmUrl)),
    adminPipeline: (hsmUrl) => createAdminPipeline(hsmUrl, args.credential, options(hsmUrl)),
    keyClient: (hsmUrl) => new KeyClient(hsmUrl, args.credential, options(hsmUrl)),
    backupContainer: args.blobService.getContainerClient(args.settings.storage.backupContainer),
    blobService: args.blobService,
    backupAuth: args.settings.storage.backupAuth,
    adminJobTimeoutMs: args.settings.adminJobTimeoutMs,
    ktyLookupLimit: args.ktyLookupLimit ?? 10,
    manifestAuth: manifestAuthenticator(manifestKey),
    now: args.now ?? (() => new Date()),
  };
  const audit = args.settings.storage.auditContainer;
  if (audit !== undefined) deps.auditContainer = args.blobService.getContainerClient(audit);
  const reports = args.settings.storage.drillReportsContainer;
  if (reports !== undefined) deps.holdsContainer = args.blobService.getContainerClient(reports);
  const copyUrl = args.settings.storage.backupCopyContainerUrl;
  if (copyUrl !== undefined) deps.copyContainer = copyContainerFor(copyUrl, args.blobService, args.storageCredential ?? args.credential, args.copyTlsCa);
  return deps;
}

/**
 * A container in the same account reuses the account's client (same credential, e.g. Azurite's key); one in
 * another account is reached with the app's token credential ("Storage Blob Data Contributor" there).
 */
function copyContainerFor(url: string, blobService: BlobServiceClient, credential: TokenCredential, tlsCa: string | undefined): ContainerClient {
  const base = blobService.url.split("?")[0]?.replace(/\/+$/, "") ?? "";
  const plain = url.split("?")[0]?.replace(/\/+$/, "") ?? url;
  const rest = plain.startsWith(`${base}/`) ? plain.slice(base.length + 1) : undefined;
  if (rest !== undefined && rest !== "" && !rest.includes("/")) return blobService.getContainerClient(rest);
  if (tlsCa === undefined || !isLoopbackUrl(plain)) return new ContainerClient(plain, credential);
  // The storage pipeline hands its options to core-rest-pipeline's createPipelineFromOptions, whose tlsOptions
  // (not in StoragePipelineOptions' type) adds the TLS policy: the CA trusts that one endpoint, nothing else.
  const options: StoragePipelineOptions & { tlsOptions: { ca: string } } = { tlsOptions: { ca: tlsCa } };
  return new ContainerClient(plain, credential, options);
}
