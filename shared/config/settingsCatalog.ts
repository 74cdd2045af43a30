/**
 * Every app setting the lifecycle app reads, with its default and meaning. `loadSettings` validates exactly
 * these keys; `local.settings.sample.json` lists every one of them (a test checks both stay in step).
 */
export interface SettingSpec {
  key: string;
  /** undefined: required (or "one of" as described). */
  default?: string;
  secret?: boolean;
  description: string;
}

export const settingsCatalog: readonly SettingSpec[] = [
  { key: "HSMS", description: "Managed HSMs as `name=https://url` pairs separated by commas. Names are labels used by DRILL_PAIRS and the rotation policy. HSMs that are not a drill target are primaries: swept, rotated and backed up." },
  { key: "VAULTS", default: "", description: "Key Vault vaults as `name=https://url` pairs separated by commas; swept and rotated, never backed up or drilled." },
  { key: "DRILL_PAIRS", default: "", description: "Restore-drill pairs `primary=drTarget` (HSM names from HSMS) separated by commas. A drill target is never swept, rotated or backed up, and its URL must differ from every primary's." },
  { key: "ROTATION_POLICY_FILE", default: "rotation-policy.json", description: "Path of the rotation policy JSON file (relative paths resolve from the function app root)." },
  { key: "ROTATION_BATCH_SIZE", default: "50", description: "Per-key rotations started per fan-out batch by the sweep (1..200); bounds history size and HSM load." },
  { key: "HSM_CREATE_RATE", default: "1", description: "Key creations (rotations) per second each HSM or vault is asked for, by the sweep, events and the CLI together, across every worker: `1` for all, `primary=3,dr=1` per instance, or both (`1,primary=3`); `0` = no pacing. Default: Microsoft's Managed HSM scaling guidance, RSA-2048 / EC P-256 create 1/s per partition, one partition; set creates per partition × partitions." },
  { key: "ROTATION_PACING_CONTAINER", default: "rotation-pacing", description: "Container (in the lifecycle storage account) holding one small blob per instance: the next free creation slot, shared by every worker. The rotation identity needs Storage Blob Data Contributor on it." },
  { key: "SWEEP_SCHEDULE", default: "0 0 1 * * *", description: "NCRONTAB (6 fields, UTC) of the expiry sweep; default daily at 01:00." },
  { key: "BACKUP_SCHEDULE", default: "0 0 2 * * *", description: "NCRONTAB (6 fields, UTC) of the nightly full HSM backup; default 02:00." },
  { key: "DRILL_SCHEDULE", default: "0 0 4 * * 0", description: "NCRONTAB (6 fields, UTC) of the restore drill; default weekly, Sunday 04:00." },
  { key: "STORAGE_ACCOUNT_URL", default: "", description: "Blob endpoint of the lifecycle storage account (backups, manifests, drill reports, audit), used with the app's managed identity. One of STORAGE_ACCOUNT_URL or STORAGE_CONNECTION_STRING is required." },
  { key: "STORAGE_CONNECTION_STRING", default: "", secret: true, description: "Connection string for the same account (local development with Azurite). Wins over STORAGE_ACCOUNT_URL when both are set." },
  { key: "BACKUP_CONTAINER", default: "hsm-backups", description: "Container the HSM writes full backups into; manifests sit next to each backup folder." },
  { key: "BACKUP_AUTH", default: "managedIdentity", description: "How the HSM reaches the backup container: `managedIdentity` (the HSM's identity, Storage Blob Data Contributor) or `sas` (a short-lived user-delegation SAS, never logged)." },
  { key: "BACKUP_COPY_CONTAINER_URL", default: "", description: "Optional container URL (no SAS) that receives a server-side copy of each verified backup, e.g. an immutable container." },
  { key: "DRILL_REPORTS_CONTAINER", default: "drill-reports", description: "Container for drill reports (JSON and HTML)." },
  { key: "AUDIT_CONTAINER", default: "lifecycle-audit", description: "Container for audit records of rotations, backups and drills." },
  { key: "RETENTION_DAILY", default: "7", description: "Backups kept: the newest N daily ones (1..3650)." },
  { key: "RETENTION_WEEKLY", default: "4", description: "Backups kept: the newest M weekly ones (0..520)." },
  { key: "RETENTION_MONTHLY", default: "12", description: "Backups kept: the newest K monthly ones (0..1200)." },
  { key: "ADMIN_JOB_TIMEOUT", default: "PT2H", description: "ISO 8601 duration (days or less) after which a backup or restore job still running fails as timed out." },
  { key: "POLLER_INTERVAL_MS", default: "2000", description: "Status poll interval for admin jobs when the service sends no Retry-After (0..600000 ms; tests use 0)." },
  { key: "RTO_TARGET", default: "PT4H", description: "Recovery-time objective (ISO 8601 duration, days or less): a drill whose restore-to-verified time exceeds it fails." },
  { key: "RPO_TARGET", default: "PT26H", description: "Recovery-point objective (ISO 8601 duration, days or less): a drill whose backup is older than this at drill start fails. Default = nightly backup plus 2 h." },
  { key: "LIFECYCLE_TOPIC_ENDPOINT", description: "Event Grid topic endpoint (https) that receives KeyNearExpiry/KeyExpired for HSM keys and the KeyRotated, Backup* and Drill* events." },
  { key: "LIFECYCLE_TOPIC_KEY", default: "", secret: true, description: "Topic access key; leave empty in Azure to use the app's managed identity (EventGrid Data Sender)." },
  { key: "EVENT_SOURCES", default: "", description: "Event Grid sources the remediation trigger accepts: ARM ids of the configured vaults and of the lifecycle topic (Event Grid `topic` / CloudEvents `source`), separated by commas. Events from any other source are rejected with a logged reason. Empty: every key event is rejected." },
  { key: "ROTATION_IDENTITY_CLIENT_ID", default: "", description: "Client id of the user-assigned managed identity the rotation workflow runs as (Managed HSM Crypto User / Key Vault Crypto Officer). Empty: the app's system-assigned identity." },
  { key: "BACKUP_IDENTITY_CLIENT_ID", default: "", description: "Client id of the user-assigned managed identity the backup workflow runs as (Managed HSM Backup User + Crypto Auditor). Empty: the app's system-assigned identity." },
  { key: "DRILL_IDENTITY_CLIENT_ID", default: "", description: "Client id of the user-assigned managed identity the restore drill runs as (Managed HSM Backup User + Restore User on the DR HSM, Crypto User for probes). Empty: the app's system-assigned identity." },
  { key: "HSM_TLS_CA_FILE", default: "", description: "Local emulator only: PEM file of the CA that the HSM, vault and topic endpoints present. Leave empty in Azure." },
];
