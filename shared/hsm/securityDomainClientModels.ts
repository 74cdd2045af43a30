/**
 * Public types of {@link SecurityDomainClient}, named and shaped as azure-keyvault-securitydomain (Python) has
 * them (`CertificateInfo`, `SecurityDomain`, `SecurityDomainOperationStatus`, `TransferKey`), with the
 * service's wire names kept where the wire is snake_case.
 */
import type { KeyVaultAdminClientOptions } from "./adminPipeline.js";

export type SecurityDomainClientOptions = KeyVaultAdminClientOptions;

/** A custodian certificate as the service takes it: an RSA JWK with the DER certificate in `x5c`. */
export interface SecurityDomainJsonWebKey {
  kid: string;
  kty: "RSA";
  key_ops: string[];
  n: string;
  e: string;
  x5c: string[];
  x5t?: string;
  "x5t#S256": string;
  alg: string;
  use?: string;
}

/** Body of the download: 3–10 certificates and the quorum (2–10, at most the number of certificates). */
export interface CertificateInfo {
  certificates: SecurityDomainJsonWebKey[];
  required?: number;
}

/** The downloaded security domain (a JSON document, kept as text) or a restore blob to upload. */
export interface SecurityDomain {
  value: string;
}

export type SecurityDomainStatus = "Success" | "InProgress" | "Failed";

export interface SecurityDomainOperationStatus {
  status: SecurityDomainStatus | string;
  statusDetails?: string;
}

/** The HSM's exchange key (recovery mode), with its certificate in `transferKey.x5c[0]`. */
export interface TransferKey {
  keyFormat: string;
  transferKey: SecurityDomainJsonWebKey;
}

export interface SecurityDomainPollOptions {
  /** Polling interval when the service sends no (or a zero) Retry-After; default 2000 ms. */
  intervalInMs?: number;
  /** Give up polling after this long (default 10 minutes). */
  timeoutInMs?: number;
  abortSignal?: AbortSignal;
}
