/**
 * The Managed HSM administration operations of one HSM instance: full backup, pre-backup, full restore,
 * pre-restore and selective key restore, as background jobs (see adminJobManager.ts), independent of HTTP.
 *
 * Rules enforced (managed-hsm-api.md §3, §5.1):
 * - one backup/restore job at a time per HSM (the instance's job slot) → 409 naming the running job;
 * - full restore needs a full backup OF THE TARGET completed within the last N minutes (default 30,
 *   `--restore-backup-window-minutes`), checked when the restore is requested → rejected otherwise;
 * - backups are sealed under the HSM's security domain; a backup from another domain fails the restore;
 * - a restore decrypts and validates the whole backup first, then replaces keys, deleted keys, rotation
 *   policies and RBAC in one step; while it runs the instance is in restore mode (data plane refused);
 *   any failure leaves the target exactly as it was;
 * - selective key restore needs the key to be absent (purged), as the service documents.
 */
import { join } from "node:path";
import type { Instance, InstanceSnapshot } from "../instance";
import { keyVaultErrors, KeyVaultError } from "../errors";
import type { StoredKey, StoredKeyVersion } from "../keys/keyModel";
import { MAX_VERSIONS_HSM } from "../keys/keyStore";
import type { AdminJob } from "./adminJob";
import { AdminJobFailure, AdminJobManager } from "./adminJobManager";
import type { BackupContent } from "./backupContent";
import { backupFolderName, BACKUP_FOLDER_PATTERN } from "./backupFolderName";
import { probeRestoreSource, readFullBackup, readKeyFromBackup } from "./backupReader";
import { probeBackupTarget, writeFullBackup } from "./backupWriter";
import { takeBackupJobFault } from "./jobFaults";
import { openContainer, validateSasTokenParameters, type SasTokenParameters } from "./blobTarget";

export interface HsmAdminOptions {
  /** `--blob` connection string: the HSM's "managed identity" storage credential. Default: Azurite dev account. */
  blobConnectionString?: string;
  /** `--restore-backup-window-minutes` (default 30). */
  restoreBackupWindowMinutes?: number;
}

export const DEFAULT_RESTORE_BACKUP_WINDOW_MINUTES = 30;

export interface RestoreRequest {
  sasTokenParameters: SasTokenParameters;
  folder: string;
}

export class HsmAdmin {
  readonly jobs: AdminJobManager;
  private readonly windowMinutes: number;

  constructor(
    private readonly instance: Instance,
    private readonly options: HsmAdminOptions = {},
  ) {
    this.windowMinutes = options.restoreBackupWindowMinutes ?? DEFAULT_RESTORE_BACKUP_WINDOW_MINUTES;
    if (!Number.isFinite(this.windowMinutes) || this.windowMinutes <= 0) {
      throw new Error(`--restore-backup-window-minutes must be a positive number (got ${this.windowMinutes}).`);
    }
    this.jobs = new AdminJobManager({
      file: join(instance.dataDir, "admin-jobs.json"),
      nowSeconds: () => instance.clock.nowSeconds(),
      lock: {
        acquire: (id, kind) => instance.acquireJobLock(id, kind),
        release: (id) => instance.releaseJobLock(id),
        holder: () => instance.currentJob(),
      },
    });
  }

  // ---- request parsing (400 BadParameter on bad input; nothing starts) ----

  parseBackupBody(body: unknown): SasTokenParameters {
    return badParameterOnError(() => validateSasTokenParameters(body, "The request body"));
  }

  parseRestoreBody(body: unknown, folderField: "folderToRestore" | "folder"): RestoreRequest {
    const b = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
    const sasTokenParameters = badParameterOnError(() => validateSasTokenParameters(b["sasTokenParameters"], "sasTokenParameters"));
    const folder = b[folderField];
    if (typeof folder !== "string" || folder === "") {
      throw keyVaultErrors.badParameter(`${folderField} is required: the backup folder name (e.g. mhsm-contoso-2026112308000000), the last segment of the backup's folderUri.`);
    }
    if (!BACKUP_FOLDER_PATTERN.test(folder)) {
      throw keyVaultErrors.badParameter(`${folderField} '${folder}' is not a full backup folder name (expected mhsm-<hsm>-<yyyyMMddHHmmss><ff>).`);
    }
    return { sasTokenParameters, folder };
  }

  // ---- operations ----

  startBackup(params: SasTokenParameters, caller: string): AdminJob {
    const receivedAt = this.instance.clock.now();
    const folder = backupFolderName(this.instance.name, receivedAt);
    const injected = takeBackupJobFault(this.instance);
    return this.jobs.start("backup", caller, { folder }, async () => {
      if (injected !== undefined) throw new AdminJobFailure(injected.code, injected.message);
      // Point-in-time: the state as of the job start, sealed and written while the HSM keeps serving.
      const content = toBackupContent(this.instance.snapshot());
      const container = openContainer(params, this.options.blobConnectionString);
      await writeFullBackup({
        container,
        folder,
        hsmName: this.instance.name,
        createdAt: Math.floor(receivedAt.getTime() / 1000),
        securityDomainSecret: this.instance.securityDomain.secret,
        content,
      });
      return { azureStorageBlobContainerUri: `${container.containerUri}/${folder}` };
    });
  }

  startPreBackup(params: SasTokenParameters, caller: string): AdminJob {
    return this.jobs.start("prebackup", caller, {}, async () => {
      await probeBackupTarget(openContainer(params, this.options.blobConnectionString));
      return {};
    });
  }

  startRestore(request: RestoreRequest, caller: string): AdminJob {
    this.assertRecentBackup();
    const job = this.jobs.start("restore", caller, { folder: request.folder }, async () => {
      try {
        const content = await readFullBackup({
          container: openContainer(request.sasTokenParameters, this.options.blobConnectionString),
          folder: request.folder,
          securityDomainSecret: this.instance.securityDomain.secret,
        });
        // Everything is decrypted and validated: replace in one step.
        await this.instance.replaceFromSnapshot(toSnapshot(content));
        return {};
      } finally {
        this.instance.restoreMode = false;
      }
    });
    // Restore mode starts with the accepted request (the job slot is ours), not when the job gets going.
    this.instance.restoreMode = true;
    return job;
  }

  startPreRestore(request: RestoreRequest, caller: string): AdminJob {
    return this.jobs.start("prerestore", caller, { folder: request.folder }, async () => {
      const problem = this.recentBackupProblem();
      if (problem) throw new AdminJobFailure("RecentBackupRequired", problem);
      await probeRestoreSource({
        container: openContainer(request.sasTokenParameters, this.options.blobConnectionString),
        folder: request.folder,
        securityDomainSecret: this.instance.securityDomain.secret,
      });
      return {};
    });
  }

  startSelectiveKeyRestore(keyName: string, request: RestoreRequest, caller: string): AdminJob {
    if (!/^[0-9A-Za-z-]{1,127}$/.test(keyName)) {
      throw keyVaultErrors.badParameter(`The request URI contains an invalid key name: ${keyName}. Key names may only contain 1-127 letters, digits and dashes.`);
    }
    return this.jobs.start("selectiveKeyRestore", caller, { keyName, folder: request.folder }, async () => {
      const key = await readKeyFromBackup(
        {
          container: openContainer(request.sasTokenParameters, this.options.blobConnectionString),
          folder: request.folder,
          securityDomainSecret: this.instance.securityDomain.secret,
        },
        keyName,
      );
      return { statusDetails: await this.restoreKeyVersions(key) };
    });
  }

  // ---- rules ----

  private recentBackupProblem(): string | undefined {
    const last = this.jobs.lastBackupCompletedAt();
    const now = this.instance.clock.nowSeconds();
    const rule =
      `A full restore is destructive, so the target HSM '${this.instance.name}' must have completed a full backup of itself ` +
      `within the last ${this.windowMinutes} minutes before a restore. Run a full backup of '${this.instance.name}' (beginBackup) and restore after it succeeds.`;
    if (last === null) return `${rule} No full backup of this HSM has completed yet.`;
    const ageSeconds = now - last;
    if (ageSeconds > this.windowMinutes * 60) {
      return `${rule} The last one completed ${Math.floor(ageSeconds / 60)} minutes ago (${new Date(last * 1000).toISOString()}).`;
    }
    return undefined;
  }

  private assertRecentBackup(): void {
    const problem = this.recentBackupProblem();
    if (problem) throw new KeyVaultError(400, "BadRequest", problem);
  }

  /**
   * Restores one key's versions as the service does: an absent key comes back whole; for a key that exists, the
   * versions it lacks are added and the ones it has are kept, not overwritten (the job still succeeds, and says
   * how many of each in statusDetails, as recorded from the service). The current version stays current.
   */
  private async restoreKeyVersions(key: StoredKey): Promise<string> {
    // Checked at the end of the job (not at request time) because the key's state may change meanwhile.
    if (this.instance.keys.listDeleted().some((d) => d.key.name === key.name)) {
      throw new AdminJobFailure(
        "KeyIsSoftDeleted",
        `Selective key restore refused: key '${key.name}' is soft-deleted on this HSM. To get it back, recover it (beginRecoverDeletedKey); to restore it from the backup, purge it first.`,
      );
    }
    const details = (restored: number, kept: number): string => `Number of successful key versions restored: ${restored}, Number of key versions could not overwrite: ${kept}`;
    if (!this.instance.keys.list().some((k) => k.name === key.name)) {
      this.instance.keys.restorePayload({ format: "hsm-emulator-key-backup/1", kind: this.instance.kind, key });
      await this.instance.commit();
      return details(key.versions.length, 0);
    }
    // snapshot() and the state swap in replaceFromSnapshot() run in one turn of the event loop: no request interleaves.
    const snapshot = this.instance.snapshot();
    const current = snapshot.keys[key.name] as StoredKey;
    const have = new Set(current.versions.map((v) => v.version));
    const missing = key.versions.filter((v) => !have.has(v.version));
    if (missing.length === 0) return details(0, key.versions.length);
    if (current.versions.length + missing.length > MAX_VERSIONS_HSM) {
      throw new AdminJobFailure(
        "KeyVersionLimitExceeded",
        `Selective key restore refused: key '${key.name}' would have ${current.versions.length + missing.length} versions, more than the ${MAX_VERSIONS_HSM} a Managed HSM key may have. Purge the key first to restore it whole.`,
      );
    }
    const latest = current.versions[current.versions.length - 1] as StoredKeyVersion;
    const older = [...current.versions.slice(0, -1), ...missing].sort((x, y) => x.created - y.created);
    current.versions = [...older, latest];
    await this.instance.replaceFromSnapshot(snapshot);
    return details(missing.length, key.versions.length - missing.length);
  }
}

function badParameterOnError<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof KeyVaultError) throw error;
    throw new KeyVaultError(400, "BadRequest", (error as Error).message);
  }
}

function toBackupContent(snapshot: InstanceSnapshot): BackupContent {
  return {
    keys: Object.values(snapshot.keys),
    deletedKeys: Object.values(snapshot.deletedKeys),
    rbac: { roleAssignments: snapshot.roleAssignments, customRoleDefinitions: snapshot.customRoleDefinitions },
  };
}

function toSnapshot(content: BackupContent): InstanceSnapshot {
  const keys: InstanceSnapshot["keys"] = {};
  for (const key of content.keys) keys[key.name] = key;
  const deletedKeys: InstanceSnapshot["deletedKeys"] = {};
  for (const deleted of content.deletedKeys) deletedKeys[deleted.key.name] = deleted;
  return {
    keys,
    deletedKeys,
    roleAssignments: content.rbac.roleAssignments,
    customRoleDefinitions: content.rbac.customRoleDefinitions,
  };
}
