/**
 * Public types of {@link KeyVaultBackupClient}, named and shaped as `@azure/keyvault-admin` has them, so
 * code written against this client moves to the official package by changing the import.
 */
import type { CancelOnProgress } from "@azure/core-lro";
import type { KeyVaultAdminClientOptions } from "./adminPipeline.js";

export type KeyVaultBackupClientOptions = KeyVaultAdminClientOptions;

/** Status values of an admin job as the service reports them. */
export type KeyVaultAdminJobStatus = "InProgress" | "Succeeded" | "Failed" | "Canceled";

export interface KeyVaultBeginBackupOptions {
  /** Polling interval when the service sends no (or a zero) `Retry-After`; default 2000 ms. */
  intervalInMs?: number;
  /** Alias of {@link intervalInMs} (the name older keyvault-admin versions used). */
  updateIntervalInMs?: number;
  /** A poller's `toString()` (or {@link adminJobResumeToken}) to pick up an existing job instead of starting one. */
  resumeFrom?: string;
  abortSignal?: AbortSignal;
}
export type KeyVaultBeginRestoreOptions = KeyVaultBeginBackupOptions;
export type KeyVaultBeginSelectiveKeyRestoreOptions = KeyVaultBeginBackupOptions;
export type KeyVaultBeginPreBackupOptions = KeyVaultBeginBackupOptions;
export type KeyVaultBeginPreRestoreOptions = KeyVaultBeginBackupOptions;

export interface KeyVaultBackupResult {
  /** Location of the full backup folder (`<container>/mhsm-<name>-<timestamp>`). */
  folderUri?: string;
  startTime?: Date;
  endTime?: Date;
}
export interface KeyVaultRestoreResult {
  startTime?: Date;
  endTime?: Date;
}
export interface KeyVaultSelectiveKeyRestoreResult {
  startTime?: Date;
  endTime?: Date;
}
/** Pre-backup / pre-restore checks end like a backup/restore job but change nothing. */
export type KeyVaultPreBackupResult = KeyVaultBackupResult;
export type KeyVaultPreRestoreResult = KeyVaultRestoreResult;

export interface KeyVaultAdminPollOperationState<TResult> {
  jobId?: string;
  status: string;
  error?: Error;
  result?: TResult;
  statusDetails?: string;
  startTime?: Date;
  endTime?: Date;
  isStarted?: boolean;
  isCompleted?: boolean;
}
export type KeyVaultBackupOperationState = KeyVaultAdminPollOperationState<KeyVaultBackupResult>;
export type KeyVaultRestoreOperationState = KeyVaultAdminPollOperationState<KeyVaultRestoreResult>;
export type KeyVaultSelectiveKeyRestoreOperationState =
  KeyVaultAdminPollOperationState<KeyVaultSelectiveKeyRestoreResult>;

/** The poller surface of keyvault-admin's `PollerLike`. */
export interface PollerLike<TState extends KeyVaultAdminPollOperationState<TResult>, TResult> {
  isDone(): boolean;
  isStopped(): boolean;
  getOperationState(): TState;
  getResult(): TResult | undefined;
  poll(options?: { abortSignal?: AbortSignal }): Promise<void>;
  pollUntilDone(options?: { abortSignal?: AbortSignal }): Promise<TResult>;
  onProgress(callback: (state: TState) => void): CancelOnProgress;
  /** Resume token: pass it as `resumeFrom` to follow the same job from another process or replay. */
  toString(): string;
  stopPolling(): void;
}
