/**
 * Every failure the lifecycle app can name. The code travels across the durable activity boundary inside
 * the error message (`[Code] …`), so renaming a code is a breaking change for orchestrations in flight.
 */
export type ErrorCode =
  // Key Vault / Managed HSM data plane and admin API
  | "KeyNotFound"
  | "NotFound"
  | "MissingRole"
  | "Unauthorized"
  | "FirewallBlocked"
  | "BadParameter"
  | "Conflict"
  | "Throttled"
  | "ServiceUnavailable"
  | "Unreachable"
  | "TlsUntrusted"
  | "VersionLimitReached"
  // Storage (backups, manifests, drill reports, audit records)
  | "ContainerNotFound"
  | "StorageUnreachable"
  // Long-running admin jobs (full backup / restore)
  | "JobFailed"
  | "JobTimedOut"
  // Lifecycle checks
  | "VerificationFailed"
  | "BackupIntegrityFailed"
  | "NoVerifiedBackup"
  | "DrillRefused"
  | "SecurityDomainMismatch"
  // Configuration
  | "SettingsInvalid"
  | "PolicyInvalid"
  // Anything not raised by our own code
  | "Unexpected";

/** Whether durable retries can help, per code: the code alone decides, so both sides of the boundary agree. */
export const retryableByCode: Readonly<Record<ErrorCode, boolean>> = {
  KeyNotFound: false,
  NotFound: false,
  MissingRole: false,
  Unauthorized: false,
  FirewallBlocked: false,
  BadParameter: false,
  Conflict: false,
  Throttled: true,
  ServiceUnavailable: true,
  Unreachable: true,
  TlsUntrusted: false,
  VersionLimitReached: false,
  ContainerNotFound: false,
  StorageUnreachable: true,
  // An admin job that failed on the service side is retried with backoff: such failures are often transient.
  JobFailed: true,
  JobTimedOut: false,
  VerificationFailed: false,
  BackupIntegrityFailed: false,
  NoVerifiedBackup: false,
  DrillRefused: false,
  SecurityDomainMismatch: false,
  SettingsInvalid: false,
  PolicyInvalid: false,
  // Unknown failures are retried: a bug fails after the retry budget, a blip does not fail at all.
  Unexpected: true,
};

/** All codes, longest first so a prefix never shadows a longer code when scanning text. */
export const errorCodes: readonly ErrorCode[] = (Object.keys(retryableByCode) as ErrorCode[]).sort(
  (a, b) => b.length - a.length,
);

export function isErrorCode(value: string): value is ErrorCode {
  return Object.prototype.hasOwnProperty.call(retryableByCode, value);
}
