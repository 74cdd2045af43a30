/**
 * Event types hsm-lifecycle publishes to its custom topic. Our own outcomes live under the `HsmLifecycle.`
 * prefix; the synthesised expiry events reuse Key Vault's names so one handler serves vaults and Managed HSM.
 */
export const LifecycleEventType = {
  KeyRotated: "HsmLifecycle.KeyRotated",
  KeyRotationFailed: "HsmLifecycle.KeyRotationFailed",
  BackupCompleted: "HsmLifecycle.BackupCompleted",
  BackupFailed: "HsmLifecycle.BackupFailed",
  DrillCompleted: "HsmLifecycle.DrillCompleted",
  DrillFailed: "HsmLifecycle.DrillFailed",
  /** A dual-control request was made, approved, rejected, expired, completed or failed. */
  OperationRequest: "HsmLifecycle.OperationRequest",
  /** A version was restricted to verify/unwrap/decrypt after an emergency rotation for compromise. */
  KeyVersionCompromised: "HsmLifecycle.KeyVersionCompromised",
  KeyNearExpiry: "Microsoft.KeyVault.KeyNearExpiry",
  KeyExpired: "Microsoft.KeyVault.KeyExpired",
} as const;

export type LifecycleEventType = (typeof LifecycleEventType)[keyof typeof LifecycleEventType];

/** Key Vault's own key event types (sent by vaults; Managed HSM sends none). */
export const KeyVaultEventType = {
  KeyNewVersionCreated: "Microsoft.KeyVault.KeyNewVersionCreated",
  KeyNearExpiry: "Microsoft.KeyVault.KeyNearExpiry",
  KeyExpired: "Microsoft.KeyVault.KeyExpired",
} as const;

export type KeyVaultEventType = (typeof KeyVaultEventType)[keyof typeof KeyVaultEventType];

export const SUBSCRIPTION_VALIDATION_EVENT_TYPE = "Microsoft.EventGrid.SubscriptionValidationEvent";
