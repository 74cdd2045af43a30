import { formatDuration } from "../drill/measureObjectives";
import type { HsmBackupView } from "./backupView";
import type { RotationView } from "./rotationView";
import { staleDrillAttention } from "./staleDrillAttention";
import { auditRetryAttention, type AuditRetryView } from "./auditRetryAttention";
import { staleReverification } from "../backup/reverifySchedule";
import type { UnrotatableKey } from "./unrotatableKeys";

/** What the attention rules read: the views `status` and the fleet page both build. */
export interface AttentionInputs {
  rotation: RotationView;
  unrotatable: UnrotatableKey[];
  backups: HsmBackupView[];
  /** The last drill's summary (see `drillSummary`), null when none ran; undefined when the reports could not be read. */
  lastDrill: Record<string, unknown> | null | undefined;
  drillSchedule: string;
  /** BACKUP_REVERIFY_SCHEDULE: a re-verification older than it allows needs attention (none checked when absent). */
  reverifySchedule?: string;
  rbacAttention: string[];
  /** The `auditRecordRetry` instances (see `listAuditRetries`); undefined when they could not be read or were not asked for. */
  auditRetries?: readonly AuditRetryView[];
  now: Date;
}

/**
 * The one implementation of "what needs a person": keys the lifecycle will not rotate (excluded but expiring, at
 * the version limit, or every key while the policy is invalid), stored backups whose re-verification failed or is
 * overdue, primaries without a verified backup or past their RPO, a failed, warning or overdue drill, RBAC drift, and
 * audit records missing because their retry gave up (or still pending after an hour). `status` (CLI) and the fleet page list exactly these.
 */
export function fleetAttention(inputs: AttentionInputs): string[] {
  const attention: string[] = [];
  if (inputs.rotation.policyError !== undefined) {
    attention.push(`the rotation policy is invalid, so no key is rotated until it is fixed: ${inputs.rotation.policyError}`);
  }
  for (const k of inputs.unrotatable) attention.push(`${k.instance}/${k.key}: ${k.manualAction}${k.notice === undefined ? "" : ` (${k.notice === "expired" ? "expired" : `expires within ${k.notice}`})`}`);
  for (const b of inputs.backups) attention.push(...backupAttention(b, inputs.reverifySchedule, inputs.now));
  const d = inputs.lastDrill;
  if (d === null) attention.push('no restore drill has run yet. Fix: run "hsm-lifecycle drill".');
  else if (d !== undefined) {
    if (d["verdict"] !== "passed") attention.push(`the last drill ${String(d["drillId"])} failed. Fix: see "hsm-lifecycle report --latest".`);
    else for (const w of (d["warnings"] as string[] | undefined) ?? []) attention.push(`the last drill ${String(d["drillId"])}: ${w}`);
    const stale = staleDrillAttention(String(d["finishedAt"]), inputs.drillSchedule, inputs.now);
    if (stale !== undefined) attention.push(stale);
  }
  attention.push(...inputs.rbacAttention);
  attention.push(...auditRetryAttention(inputs.auditRetries ?? [], inputs.now));
  return attention;
}

/**
 * A primary's backup findings. This is the single place backup attention items come from: a finding about a
 * backup's re-verification (a stored backup that no longer verifies) belongs here, next to "no verified backup".
 */
export function backupAttention(b: HsmBackupView, reverifySchedule?: string, now?: Date): string[] {
  if (b.error !== undefined) return [];
  const out: string[] = [];
  for (const f of b.reverifyFailed) {
    out.push(`${b.hsm}: backup ${f.folder} failed re-verification at ${f.at} (its blobs no longer match its manifest); drills and retention no longer count it as verified. Fix: find out who can write the backup container (see the BackupIntegrityFailed audit record under backup/${b.hsm}/), then take a new backup.`);
  }
  if (reverifySchedule !== undefined && now !== undefined) {
    const oldest = b.backups.filter((x) => x.retiring !== true).at(-1)?.completedAt ?? null;
    const stale = staleReverification(b.hsm, b.lastReverification?.at ?? null, oldest, reverifySchedule, now);
    if (stale !== undefined) out.push(stale);
  }
  if (b.lastVerified === null) out.push(`${b.hsm} has no verified backup. Fix: run "hsm-lifecycle backup --hsm ${b.hsm}".`);
  else if (!b.rpoMet) out.push(`${b.hsm}: RPO now ${formatDuration(b.rpoNowMs ?? 0)} exceeds the target ${formatDuration(b.rpoTargetMs)}. Fix: run a backup and check the backup timer.`);
  return out;
}
