/**
 * Function names, declared once and used by `functions/` registrations, the runner and tests. Each name is a
 * registered Azure Function, so all names are unique across the three groups (a test checks it) and
 * renaming one orphans orchestrations in flight: treat them as a stored format.
 */

/** Orchestrations (deterministic generators in shared/{rotation,backup,drill}/orchestrations/). */
export const orchestrationNames = {
  /** Timer-driven expiry sweep over every configured HSM and vault. */
  rotationSweep: "rotationSweep",
  /** One bounded batch of per-key rotations (a sub-orchestration, keeps every history small). */
  rotationBatch: "rotationBatch",
  /** Per-key rotation, instance id `rotate:{vault}:{key}:{version}`. */
  rotateKey: "rotateKey",
  /** Disable old versions once their grace period has passed (durable timers, chained past 6 days). */
  retireVersions: "retireVersions",
  /** A KeyNewVersionCreated made by someone else: record and verify it, never rotate. */
  recordKeyVersion: "recordKeyVersion",
  /** Nightly full backup of one HSM (singleton per HSM and night). */
  hsmBackup: "hsmBackup",
  /** N daily / M weekly / K monthly retention over verified backups. */
  backupRetention: "backupRetention",
  /** Full restore drill for one (primary, DR) pair. */
  restoreDrill: "restoreDrill",
  /** Selective-restore drill variant (one key into DR). */
  selectiveRestoreDrill: "selectiveRestoreDrill",
  /** Scheduled re-verification of one HSM's stored backups, instance id `reverify:{hsm}:{time}`. */
  reverifyBackups: "reverifyBackups",
  /** Holds a per-resource lock (its own instance id) while one backup or drill runs as its sub-orchestration. */
  exclusiveRun: "exclusiveRun",
  /** One dual-control request (instance id = request id): waits for approvals, then runs the operation. */
  operationRequest: "operationRequest",
  /** An approved emergency rotation (rotate now, verify, restrict a compromised version). */
  emergencyRotation: "emergencyRotation",
  /** An approved key recovery (recover a soft-deleted key, or restore one purged key from a verified backup). */
  keyRecovery: "keyRecovery",
  /** An approved early disabling of one superseded key version (disable it, read it back, audit record). */
  earlyDisable: "earlyDisable",
  /** Retries an outcome's audit record whose write failed (storage away), on durable timers up to 72 h; instance id `audit-retry:{blob}`. */
  auditRecordRetry: "auditRecordRetry",
} as const;

/** Activities (the only code that talks to HSMs, vaults, storage and Event Grid). */
export const activityNames = {
  // Rotation
  /** List one instance's keys (list pages only) and decide what is due. */
  listDueKeys: "listDueKeys",
  /** Publish KeyNearExpiry / KeyExpired for HSM keys (Managed HSM has no Event Grid). */
  publishNotices: "publishNotices",
  /** Make the key's service rotation policy match the configuration (Managed HSM needs one before rotate). */
  ensureRotationPolicy: "ensureRotationPolicy",
  /** Create the new version (on-demand rotate). */
  rotateKeyVersion: "rotateKeyVersion",
  /** The rotate, with the policy set only when the rotate's answer shows it differs. */
  ensurePolicyAndRotate: "ensurePolicyAndRotate",
  /** Claim the instance's next key-creation slot (HSM_CREATE_RATE); the orchestration waits for it with a durable timer. */
  reserveCreateSlot: "reserveCreateSlot",
  /** Crypto round-trip that fits the key's key_ops: new version works, previous still verifies/unwraps. */
  verifyKeyVersion: "verifyKeyVersion",
  /** Set the new version's expiry. */
  setVersionExpiry: "setVersionExpiry",
  /** List a key's versions (for retirement and the 100-version limit). */
  listKeyVersions: "listKeyVersions",
  /** Disable one old version (never purge). */
  disableKeyVersion: "disableKeyVersion",
  /** One retirement pass: disable the old versions whose grace period has passed; returns the next due instant. */
  retireKeyVersions: "retireKeyVersions",
  /** Record and verify a version someone else created (KeyNewVersionCreated). */
  recordForeignVersion: "recordForeignVersion",
  /** Settings + validated rotation policy as the sweep's input (orchestrations never read settings). */
  loadRotationConfig: "loadRotationConfig",
  /** Which rotation instance ids already exist (durable status), so a batch never starts one twice. */
  claimRotations: "claimRotations",
  /** KeyRotated / KeyRotationFailed event plus the audit record; never fails the rotation. */
  recordRotationOutcome: "recordRotationOutcome",
  // Shared by all workflows
  /** KeyRotated / KeyRotationFailed / Backup* / Drill* events to the lifecycle topic. */
  publishLifecycleEvent: "publishLifecycleEvent",
  writeAuditRecord: "writeAuditRecord",
  // Backup
  preBackupCheck: "preBackupCheck",
  /** Start a full backup, or adopt the job already running (409). Also backs up the DR target before a drill. */
  startBackup: "startBackup",
  getBackupStatus: "getBackupStatus",
  /** A running backup's hold on the folder its job writes (until its manifest is written), read by retention. */
  holdBackupFolder: "holdBackupFolder",
  releaseBackupFolder: "releaseBackupFolder",
  writeBackupManifest: "writeBackupManifest",
  /** Re-list and re-hash the blobs against the manifest. */
  verifyBackup: "verifyBackup",
  /** The scheduled re-verification of one stored backup (re-hash against its manifest, authenticated record). */
  reverifyBackup: "reverifyBackup",
  /** Server-side copy into the immutable container, digests checked. */
  copyBackup: "copyBackup",
  listBackups: "listBackups",
  deleteBackup: "deleteBackup",
  /** Retention over one HSM's backups (plans from the live listing; `dryRun` lists only). */
  applyBackupRetention: "applyBackupRetention",
  /** BackupCompleted / BackupFailed event plus the audit record; never fails the run. */
  recordBackupOutcome: "recordBackupOutcome",
  // Drill
  /** Safety interlocks: target is a configured drill target and differs from every primary (URL and identity). */
  checkDrillSafety: "checkDrillSafety",
  findLatestVerifiedBackup: "findLatestVerifiedBackup",
  /** Full backup of the DR HSM itself before the restore (the 30-minute restore rule), and its status read. */
  startDrillTargetBackup: "startDrillTargetBackup",
  getDrillTargetBackupStatus: "getDrillTargetBackupStatus",
  preRestoreCheck: "preRestoreCheck",
  startRestore: "startRestore",
  getRestoreStatus: "getRestoreStatus",
  startSelectiveRestore: "startSelectiveRestore",
  /** Manifest inventory vs the DR HSM after restore (list operations only). */
  verifyRestoredInventory: "verifyRestoredInventory",
  /** Sign/verify, wrap/unwrap, encrypt/decrypt across primary and DR on a sample per key type. */
  runCryptoProbes: "runCryptoProbes",
  verifyRoleAssignments: "verifyRoleAssignments",
  /** As the DR steward: put the drill's DR-only role back on DR after a full restore (which replaced DR's assignments). */
  reapplyDrRoles: "reapplyDrRoles",
  writeDrillReport: "writeDrillReport",
  /** DrillCompleted / DrillFailed for the stored report (never fails the drill) and the drill's audit record. */
  recordDrillOutcome: "recordDrillOutcome",
  // Dual control
  /** One request step (made, approved, refused, rejected, expired, completed, failed): audit record + OperationRequest event. */
  recordRequestStep: "recordRequestStep",
  /** APPROVERS as the settings hold them now: the list each decision is checked against. */
  readApprovers: "readApprovers",
  /** Restrict a compromised version to verify/unwrap/decrypt; KeyVersionCompromised event + audit record. */
  restrictKeyVersion: "restrictKeyVersion",
  /** Key recovery, run once: recover the soft-deleted key, or restore it from the newest verified backup holding it. */
  recoverKey: "recoverKey",
  /** The recovered key's crypto round trip and version check, and its audit record. */
  verifyRecoveredKey: "verifyRecoveredKey",
  /** Early disable: read the disabled version back (enabled false) and write its audit record. */
  verifyDisabledVersion: "verifyDisabledVersion",
  // Audit trail
  /** One more attempt at a lost audit record (write-once), as the identity that first tried. */
  retryAuditRecordWrite: "retryAuditRecordWrite",
} as const;

/** Trigger functions (timers, Event Grid, HTTP). */
export const triggerNames = {
  rotationSweepTimer: "rotationSweepTimer",
  /** Event Grid remediation: KeyNearExpiry / KeyExpired / KeyNewVersionCreated → rotateKey. */
  keyEventGrid: "keyEventGrid",
  /** Dry run: what would rotate and why, and every policy violation. */
  rotationPlanHttp: "rotationPlanHttp",
  backupTimer: "backupTimer",
  /** Re-verifies every stored backup of every primary HSM (BACKUP_REVERIFY_SCHEDULE). */
  backupReverifyTimer: "backupReverifyTimer",
  backupRetentionPlanHttp: "backupRetentionPlanHttp",
  drillTimer: "drillTimer",
  drillHttp: "drillHttp",
  /** `POST /api/backups`: a full backup of one or every primary HSM now, one backup per HSM at a time. */
  backupHttp: "backupHttp",
  /** `POST /api/rotations`: a manual sweep, or rotations of named due key versions. */
  rotationHttp: "rotationHttp",
  /** `GET /api/runs/{id}`: a run's status (no input, no history, no management URLs or keys). */
  runStatusHttp: "runStatusHttp",
  /** `GET /api/requests`: dual-control requests and their status. */
  requestsHttp: "requestsHttp",
  /** `POST /api/requests/{id}/approve|reject`: a decision by the authenticated caller. */
  requestDecisionHttp: "requestDecisionHttp",
  /** `POST /api/recoveries`: a key recovery request by the authenticated caller. */
  recoveryHttp: "recoveryHttp",
  /** `POST /api/disables`: an early disable request (one superseded version) by the authenticated caller. */
  disableHttp: "disableHttp",
  /** `GET /api/fleet[?format=json]`: the fleet page (every HSM and vault, keys, backups, last drill, attention). */
  fleetHttp: "fleetHttp",
  /** `GET /api/plan[?at=ISO]`: the dry run of rotation, retention and the next drill. */
  planHttp: "planHttp",
  /** `GET /api/audit-retries`: the audit record retries of the last 30 days (what `status` lists under attention). */
  auditRetriesHttp: "auditRetriesHttp",
} as const;

export type OrchestrationName = (typeof orchestrationNames)[keyof typeof orchestrationNames];
export type ActivityName = (typeof activityNames)[keyof typeof activityNames];
export type TriggerName = (typeof triggerNames)[keyof typeof triggerNames];
