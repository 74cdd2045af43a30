import { formatDuration } from "../drill/measureObjectives";
import type { HsmBackupView } from "./backupView";
import type { RotationView } from "./rotationView";
import { staleDrillAttention } from "./staleDrillAttention";
import type { UnrotatableKey } from "./unrotatableKeys";

/** What the attention rules read: the views `status` and the fleet page both build. */
export interface AttentionInputs {
  rotation: RotationView;
  unrotatable: UnrotatableKey[];
  backups: HsmBackupView[];
  /** The last drill's summary (see `drillSummary`), null when none ran; undefined when the reports could not be read. */
  lastDrill: Record<string, unknown> | null | undefined;
  drillSchedule: string;
  rbacAttention: string[];
  now: Date;
}

/**
 * The one implementation of "what needs a person": keys the lifecycle will not rotate (excluded but expiring, at
 * the version limit, or every key while the policy is invalid), primaries without a verified backup or past their
 * RPO, a failed, warning or overdue drill, and RBAC drift. `status` (CLI) and the fleet page list exactly these.
 */
export function fleetAttention(inputs: AttentionInputs): string[] {
  const attention: string[] = [];
  if (inputs.rotation.policyError !== undefined) {
    attention.push(`the rotation policy is invalid, so no key is rotated until it is fixed: ${inputs.rotation.policyError}`);
  }
  for (const k of inputs.unrotatable) attention.push(`${k.instance}/${k.key}: ${k.manualAction}${k.notice === undefined ? "" : ` (${k.notice === "expired" ? "expired" : `expires within ${k.notice}`})`}`);
  for (const b of inputs.backups) attention.push(...backupAttention(b));
  const d = inputs.lastDrill;
  if (d === null) attention.push('no restore drill has run yet. Fix: run "hsm-lifecycle drill".');
  else if (d !== undefined) {
    if (d["verdict"] !== "passed") attention.push(`the last drill ${String(d["drillId"])} failed. Fix: see "hsm-lifecycle report --latest".`);
    else for (const w of (d["warnings"] as string[] | undefined) ?? []) attention.push(`the last drill ${String(d["drillId"])}: ${w}`);
    const stale = staleDrillAttention(String(d["finishedAt"]), inputs.drillSchedule, inputs.now);
    if (stale !== undefined) attention.push(stale);
  }
  attention.push(...inputs.rbacAttention);
  return attention;
}

/**
 * A primary's backup findings. This is the single place backup attention items come from: a finding about a
 * backup's re-verification (a stored backup that no longer verifies) belongs here, next to "no verified backup".
 */
export function backupAttention(b: HsmBackupView): string[] {
  if (b.error !== undefined) return [];
  if (b.lastVerified === null) return [`${b.hsm} has no verified backup. Fix: run "hsm-lifecycle backup --hsm ${b.hsm}".`];
  if (!b.rpoMet) return [`${b.hsm}: RPO now ${formatDuration(b.rpoNowMs ?? 0)} exceeds the target ${formatDuration(b.rpoTargetMs)}. Fix: run a backup and check the backup timer.`];
  return [];
}
