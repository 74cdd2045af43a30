/** One valid payload per lifecycle event type: used by the schema tests and the publisher tests. */
import type { LifecycleEventDataMap } from "../../shared/events/lifecycleEventData";
import { LifecycleEventType } from "../../shared/events/lifecycleEventTypes";

const VERSION = "0123456789abcdef0123456789abcdef";
const KEY_ID = `https://primary.managedhsm.azure.net/keys/payments-cmk/${VERSION}`;
const AT = "2026-11-23T09:00:00.000Z";

export const lifecycleSamples: { [T in LifecycleEventType]: LifecycleEventDataMap[T] } = {
  [LifecycleEventType.KeyRotated]: {
    instance: "primary",
    instanceKind: "managedHsm",
    keyName: "payments-cmk",
    keyId: KEY_ID,
    newVersion: VERSION,
    previousVersion: "fedcba9876543210fedcba9876543210",
    trigger: "nearExpiry",
    runId: "rotate:primary:payments-cmk:fedcba9876543210fedcba9876543210",
    rotatedAt: AT,
    expiresOn: "2027-11-23T09:00:00Z",
  },
  [LifecycleEventType.KeyRotationFailed]: {
    instance: "primary",
    instanceKind: "managedHsm",
    keyName: "payments-cmk",
    currentVersion: null,
    trigger: "schedule",
    errorCode: "HsmThrottled",
    message: "Managed HSM answered 429 five times",
    attempts: 5,
    runId: "run-1",
    failedAt: AT,
  },
  [LifecycleEventType.BackupCompleted]: {
    hsmName: "primary",
    jobId: "a1b2c3",
    folderUrl: "https://account.blob.core.windows.net/backups/mhsm-primary-2026112309000000",
    startedAt: AT,
    completedAt: AT,
    durationMs: 4200,
    verified: true,
    runId: "backup:primary:2026-11-23",
  },
  [LifecycleEventType.BackupFailed]: { hsmName: "primary", jobId: null, errorCode: "BackupJobFailed", message: "SAS expired", runId: "r", failedAt: AT },
  [LifecycleEventType.DrillCompleted]: {
    primaryHsm: "primary",
    drHsm: "dr-hsm",
    folderUrl: "https://account.blob.core.windows.net/backups/mhsm-primary-2026112309000000",
    keysVerified: 12,
    rtoSeconds: 93.5,
    rpoSeconds: 3600,
    runId: "drill:2026-11-23",
    startedAt: AT,
    completedAt: AT,
  },
  [LifecycleEventType.DrillFailed]: {
    primaryHsm: "primary",
    drHsm: "dr-hsm",
    stage: "verify",
    errorCode: "DrillVerificationFailed",
    message: "2 keys differ",
    runId: "drill:2026-11-23",
    failedAt: AT,
  },
  [LifecycleEventType.KeyNearExpiry]: {
    Id: KEY_ID,
    VaultName: "primary",
    ObjectType: "Key",
    ObjectName: "payments-cmk",
    Version: VERSION,
    NBF: null,
    EXP: 1766476800,
  },
  [LifecycleEventType.KeyExpired]: {
    Id: KEY_ID,
    VaultName: "primary",
    ObjectType: "Key",
    ObjectName: "payments-cmk",
    Version: VERSION,
    NBF: 1763884800,
    EXP: 1766476800,
  },
};

