/**
 * Input and output of the restore-drill orchestrations (`restoreDrill`, `selectiveRestoreDrill`). The input is
 * built by the starters in functions/drill.ts from the app settings, so the orchestration never reads settings.
 */
export type DrillKind = "full" | "selective";

export interface RestoreDrillInput {
  /** Configured primary HSM name (HSMS). */
  primary: string;
  /** Configured drill target name (DRILL_PAIRS). */
  target: string;
  /** Selective drills only: the key restored from the backup into DR. */
  keyName?: string;
  /** RTO_TARGET / RPO_TARGET, echoed into the status; `writeDrillReport` measures against the same settings. */
  objectives: { rtoMs: number; rpoMs: number };
  /** Wait before the first admin-job status read (POLLER_INTERVAL_MS); later waits grow to at most a minute. */
  pollIntervalMs: number;
  /** An admin job still running after this long ends the drill as timed out (ADMIN_JOB_TIMEOUT). */
  adminJobTimeoutMs: number;
  /** Who started it, for the audit record. */
  trigger: "timer" | "http";
}

/** The drill stages, in order; the custom status names the one running. */
export type DrillStage = "interlocks" | "selectBackup" | "targetBackup" | "preRestoreCheck" | "restore" | "verify" | "report" | "record" | "done";

export interface RestoreDrillOutput {
  drillId: string;
  kind: DrillKind;
  verdict: "passed" | "failed";
  /** One sentence per cause (empty when passed). */
  failures: string[];
  /** The stage a failure stopped the drill at (absent when it ran to the end). */
  stoppedAt?: DrillStage;
  /** Blob names in the drill-reports container. */
  reportJson: string;
  reportHtml: string;
  rtoMs?: number;
  rpoMs?: number;
  /** What did not fail the drill but needs a person (as in the report). */
  warnings?: string[];
  /**
   * Whether the DrillCompleted / DrillFailed event went out and the audit record was written; `audit: false` with
   * `auditRetry`: the write failed through the activity's retries and `auditRecordRetry` writes it later.
   */
  recorded: { event: string; audit: true } | { event: string; audit: false; error: string; auditRetry: { kind: "started" | "exists"; instanceId: string } } | { error: string };
}
