import { LifecycleEventType } from "./lifecycleEventTypes";

/** Payloads of the lifecycle events; each mirrors `schemas/<name>.schema.json` (the schema is the contract). */
export type InstanceKind = "managedHsm" | "vault";
export type RotationTrigger = "schedule" | "nearExpiry" | "expired" | "manual" | "policy";

export interface KeyRotatedData {
  instance: string;
  instanceKind: InstanceKind;
  keyName: string;
  keyId: string;
  newVersion: string;
  previousVersion: string | null;
  trigger: RotationTrigger;
  runId: string;
  rotatedAt: string;
  expiresOn?: string | null;
}

export interface KeyRotationFailedData {
  instance: string;
  instanceKind: InstanceKind;
  keyName: string;
  currentVersion: string | null;
  trigger: RotationTrigger;
  errorCode: string;
  message: string;
  attempts: number;
  runId: string;
  failedAt: string;
}

export interface BackupCompletedData {
  hsmName: string;
  jobId: string;
  /** Blob folder URL without any SAS query. */
  folderUrl: string;
  startedAt: string;
  completedAt: string;
  durationMs: number;
  verified: boolean;
  runId: string;
}

export interface BackupFailedData {
  hsmName: string;
  jobId: string | null;
  errorCode: string;
  message: string;
  runId: string;
  failedAt: string;
}

export interface DrillCompletedData {
  primaryHsm: string;
  drHsm: string;
  folderUrl: string;
  keysVerified: number;
  rtoSeconds: number;
  rpoSeconds: number;
  runId: string;
  startedAt: string;
  completedAt: string;
}

export interface DrillFailedData {
  primaryHsm: string;
  drHsm: string;
  stage: "selectBackup" | "restore" | "verify" | "cleanup";
  errorCode: string;
  message: string;
  runId: string;
  failedAt: string;
}

/** Key Vault's wire shape (PascalCase, NBF/EXP in Unix seconds or null), reproduced for Managed HSM keys. */
export interface KeyExpiryData {
  Id: string;
  VaultName: string;
  ObjectType: "Key";
  ObjectName: string;
  Version: string;
  NBF: number | null;
  EXP: number | null;
  /** Not in Key Vault's events: set when the lifecycle will not rotate the key, saying what a person must do. */
  ManualAction?: string;
}

/** One step of a dual-control request (`HsmLifecycle.OperationRequest`). */
export interface OperationRequestData {
  request: string;
  operation: "emergencyRotation" | "keyRecovery" | "earlyDisable";
  /** What happened: the request was made, one approval counted, a decision refused, or its end. */
  action: "requested" | "approved" | "refused" | "rejected" | "expired" | "completed" | "failed";
  /** The request's status after this step. */
  status: "pending" | "approved" | "rejected" | "expired" | "completed" | "failed";
  instance: string;
  keyName: string;
  requester: string;
  /** Who acted (the approver, rejecter or refused principal); null for expiry and outcomes. */
  principal: string | null;
  approvers: string[];
  required: number;
  reason: string;
  ticket: string;
  message: string | null;
  at: string;
}

/** `HsmLifecycle.KeyVersionCompromised`: consumers must stop signing/encrypting with this version at once. */
export interface KeyVersionCompromisedData {
  instance: string;
  instanceKind: "managedHsm" | "vault";
  keyName: string;
  version: string;
  newVersion: string;
  keyOps: string[];
  disableAfter: string;
  request: string;
  ticket: string;
  restrictedAt: string;
}

export interface LifecycleEventDataMap {
  [LifecycleEventType.KeyRotated]: KeyRotatedData;
  [LifecycleEventType.KeyRotationFailed]: KeyRotationFailedData;
  [LifecycleEventType.BackupCompleted]: BackupCompletedData;
  [LifecycleEventType.BackupFailed]: BackupFailedData;
  [LifecycleEventType.DrillCompleted]: DrillCompletedData;
  [LifecycleEventType.DrillFailed]: DrillFailedData;
  [LifecycleEventType.KeyNearExpiry]: KeyExpiryData;
  [LifecycleEventType.KeyExpired]: KeyExpiryData;
  [LifecycleEventType.OperationRequest]: OperationRequestData;
  [LifecycleEventType.KeyVersionCompromised]: KeyVersionCompromisedData;
}
