import type { DrillObjectives } from "./measureObjectives";

export const DRILL_REPORT_SCHEMA = "hsm-lifecycle/drill-report";

/** One verification step of a drill. `problems` hold names and attributes only, never key material. */
export interface DrillCheck {
  name: string;
  passed: boolean;
  detail: string;
  problems?: string[];
}

export interface DrillReport {
  schema: typeof DRILL_REPORT_SCHEMA;
  schemaVersion: 1;
  drillId: string;
  kind: "full" | "selective";
  verdict: "passed" | "failed";
  primary: { name: string; url: string };
  target: { name: string; url: string };
  startedAt: string;
  finishedAt: string;
  /** The primary's backup that was restored (its manifest's facts). */
  backup?: { folder: string; folderUrl: string; jobId: string; startTime: string; endTime: string };
  /**
   * Set when the drill restored an older backup because newer ones failed their pre-restore hash check or their
   * last re-verification: which, and why (also one line in `warnings`).
   */
  fallback?: { restored: string; rejected: Array<{ folder: string; reason: string }> };
  /** DR's own full backup taken just before the restore (the restore rule, and DR's way back). */
  targetBackup?: { folderUrl: string; jobId: string; endTime: string };
  restore?: { jobId: string; status: string; startTime: string; endTime?: string; keyName?: string };
  objectives?: DrillObjectives;
  checks: DrillCheck[];
  /** Keys of the backup found on DR with every listed attribute equal (from `verifyRestoredInventory`). */
  keysVerified?: number;
  /** Single-key GETs the drill spent (Sentinel mass-retrieval budget). */
  singleKeyGets: number;
  /** Why the drill failed, in one sentence per cause (empty when it passed). */
  failures: string[];
  /** When the report was assembled, and the object id of the identity that ran the drill (from its own token). */
  generatedAt?: string;
  principalId?: string;
  /** SHA-256 (hex) of the backup manifest the drill restored, as stored. */
  manifestDigest?: string;
  /** What did not fail the drill but needs a person (e.g. the restore left DR without the next drill's roles). */
  warnings?: string[];
}

export type DrillReportInput = Omit<DrillReport, "schema" | "schemaVersion" | "verdict" | "failures"> & {
  /** A failure that stopped the drill early (restore Failed, pre-restore check refused, …). */
  failure?: string;
};

/**
 * Assembles the report and decides the verdict: a drill passes only when it ran to the end, every check
 * passed and both objectives were met; a breached RTO or RPO fails it.
 */
export function buildDrillReport(input: DrillReportInput): DrillReport {
  const { failure, ...rest } = input;
  const failures: string[] = [];
  if (failure !== undefined) failures.push(failure);
  for (const c of input.checks) if (!c.passed) failures.push(`${c.name} failed: ${c.detail}`);
  if (input.objectives !== undefined) failures.push(...input.objectives.breaches);
  else if (failure === undefined) failures.push("RTO and RPO were not measured, so the objectives cannot be shown to be met.");
  if (input.checks.length === 0 && failure === undefined) failures.push("No verification ran.");
  return { schema: DRILL_REPORT_SCHEMA, schemaVersion: 1, ...rest, verdict: failures.length === 0 ? "passed" : "failed", failures };
}
