import { formatDuration } from "../shared/drill/measureObjectives";
import { backupView, type HsmBackupView } from "./backupView";
import type { CliContext } from "./cliContext";
import type { CliIo } from "./cliIo";
import { drillSummary, latestDrillReport, reportsContainer } from "./drillReports";
import { staleDrillAttention } from "./staleDrillAttention";
import { rbacStatus } from "./rbacStatus";
import { errorText } from "./errorText";
import { formatTable, indent } from "./formatTable";
import { rotationView, type RotationView } from "./rotationView";
import { unrotatableKeys, type UnrotatableKey } from "./unrotatableKeys";

export interface StatusResult {
  at: string;
  rotation: RotationView;
  backups: HsmBackupView[];
  lastDrill: Record<string, unknown> | null;
  lastDrillError?: string;
  /** Keys the lifecycle will not rotate that need a person (excluded but expiring, at the version limit). */
  unrotatable: UnrotatableKey[];
  /** What could not be read: the status is incomplete and the exit code is 1. */
  errors: string[];
  /**
   * What needs an operator (no verified backup, RPO breached, last drill failed or overdue, keys nobody rotates,
   * RBAC drift); listed; exit 1 only with `--check`.
   */
  attention: string[];
}

/**
 * `status`: per configured instance the keys due and the keys nobody rotates, per primary HSM the last verified
 * backup and "RPO now", and the last drill. Read-only. Exit 1 when something could not be read (the status is
 * incomplete); findings are listed under "attention" (and in the JSON), and with `check` (`--check`, for a
 * monitor) they exit 1 as well.
 */
export async function statusCommand(ctx: CliContext, io: CliIo, json: boolean, credential: "managed-identity" | "default" = "managed-identity", check = false): Promise<number> {
  const [rotation, backups, drill, rbac] = await Promise.all([
    rotationView(ctx),
    backupView(ctx),
    latestDrillReport(reportsContainer(ctx)).then(
      (r) => ({ report: r === undefined ? null : drillSummary(r) }),
      (e: unknown) => ({ report: null, error: errorText(e) }),
    ),
    rbacStatus(ctx, credential),
  ]);
  const errors: string[] = [];
  const attention: string[] = [];
  if (rotation.policyError !== undefined) errors.push(`rotation policy: ${rotation.policyError}`);
  for (const i of rotation.instances) if (!i.ok) errors.push(`${i.instance}: ${i.error}`);
  const unrotatable = unrotatableKeys(rotation);
  for (const k of unrotatable) attention.push(`${k.instance}/${k.key}: ${k.manualAction}${k.notice === undefined ? "" : ` (${k.notice === "expired" ? "expired" : `expires within ${k.notice}`})`}`);
  for (const b of backups) {
    if (b.error !== undefined) errors.push(`backups of ${b.hsm}: ${b.error}`);
    for (const f of b.reverifyFailed) {
      attention.push(`${b.hsm}: backup ${f.folder} failed re-verification at ${f.at} (its blobs no longer match its manifest); drills and retention no longer count it as verified. Fix: find out who can write the backup container (see the BackupIntegrityFailed audit record under backup/${b.hsm}/), then take a new backup.`);
    }
    if (b.error !== undefined) continue;
    if (b.lastVerified === null) attention.push(`${b.hsm} has no verified backup. Fix: run "hsm-lifecycle backup --hsm ${b.hsm}".`);
    else if (!b.rpoMet) attention.push(`${b.hsm}: RPO now ${formatDuration(b.rpoNowMs ?? 0)} exceeds the target ${formatDuration(b.rpoTargetMs)}. Fix: run a backup and check the backup timer.`);
  }
  if ("error" in drill && drill.error !== undefined) errors.push(`drill reports: ${drill.error}`);
  else if (drill.report === null) attention.push("no restore drill has run yet. Fix: run \"hsm-lifecycle drill\".");
  else if (drill.report["verdict"] !== "passed") attention.push(`the last drill ${String(drill.report["drillId"])} failed. Fix: see "hsm-lifecycle report --latest".`);
  else for (const w of (drill.report["warnings"] as string[] | undefined) ?? []) attention.push(`the last drill ${String(drill.report["drillId"])}: ${w}`);
  if (drill.report !== null) {
    const stale = staleDrillAttention(String(drill.report["finishedAt"]), ctx.settings.schedules.drill, new Date(rotation.at));
    if (stale !== undefined) attention.push(stale);
  }

  errors.push(...rbac.errors);
  attention.push(...rbac.attention);

  const result: StatusResult = { at: rotation.at, rotation, backups, lastDrill: drill.report, unrotatable, errors, attention };
  if ("error" in drill && drill.error !== undefined) result.lastDrillError = drill.error;
  if (json) io.out(JSON.stringify(toJson(result), null, 2));
  else io.out(render(result));
  return errors.length > 0 || (check && attention.length > 0) ? 1 : 0;
}

function toJson(r: StatusResult): unknown {
  return {
    at: r.at,
    ...(r.rotation.policyError !== undefined ? { policyError: r.rotation.policyError } : {}),
    instances: r.rotation.instances.map((i) =>
      i.ok
        ? { name: i.instance, kind: i.kind, listed: i.listed, due: i.due.map((d) => ({ name: d.name, version: d.version, reason: d.decision.reason, rule: d.decision.rule, dueOn: d.decision.dueOn, expiresOn: d.expiresOn ?? null, instanceId: d.instanceId })), notices: i.notices.map((n) => ({ name: n.name, stage: n.stage, expiresOn: n.expiresOn ?? null })), skipped: i.skipped }
        : { name: i.instance, kind: i.kind, error: i.error },
    ),
    backups: r.backups.map((b) => ({
      hsm: b.hsm,
      count: b.backups.length,
      lastVerified: b.lastVerified === null ? null : { folder: b.lastVerified.folder, completedAt: b.lastVerified.completedAt, verifiedAt: b.lastVerified.verifiedAt ?? null },
      rpoNowMs: b.rpoNowMs,
      rpoTargetMs: b.rpoTargetMs,
      rpoMet: b.rpoMet,
      lastReverification: b.lastReverification,
      reverifyFailed: b.reverifyFailed,
      ...(b.error !== undefined ? { error: b.error } : {}),
    })),
    unrotatable: r.unrotatable,
    lastDrill: r.lastDrill,
    ...(r.lastDrillError !== undefined ? { lastDrillError: r.lastDrillError } : {}),
    errors: r.errors,
    attention: r.attention,
  };
}

function render(r: StatusResult): string {
  const out: string[] = [`hsm-lifecycle status at ${r.at}`, ""];
  out.push("Keys due for rotation");
  if (r.rotation.policyError !== undefined) out.push(`  cannot decide: ${r.rotation.policyError}`);
  const rows: string[][] = [];
  for (const i of r.rotation.instances) {
    if (!i.ok) {
      rows.push([i.instance, "-", "ERROR", i.error]);
      continue;
    }
    if (i.due.length === 0) rows.push([i.instance, "(none)", "", `${i.listed} keys listed`]);
    for (const d of i.due) rows.push([i.instance, d.name, d.decision.reason, `rule ${d.decision.rule}${d.expiresOn === undefined ? "" : `, expires ${d.expiresOn}`}`]);
  }
  if (rows.length > 0) out.push(indent(formatTable(["INSTANCE", "KEY", "REASON", "DETAIL"], rows)));
  if (r.unrotatable.length > 0) {
    out.push("", "Keys nobody rotates (a person must act)");
    out.push(indent(formatTable(["INSTANCE", "KEY", "WHY", "NOTICE"], r.unrotatable.map((k) => [k.instance, k.key, k.reason, k.notice ?? "-"]))));
  }
  out.push("", "Backups (last verified per HSM)");
  out.push(
    indent(
      formatTable(
        ["HSM", "LAST VERIFIED", "COMPLETED", "RPO NOW", "RPO TARGET", "LAST RE-VERIFIED"],
        r.backups.map((b) =>
          b.error !== undefined
            ? [b.hsm, "ERROR", b.error, "", "", ""]
            : [
                b.hsm,
                b.lastVerified?.folder ?? "(none)",
                b.lastVerified?.completedAt ?? "",
                b.rpoNowMs === null ? "-" : `${formatDuration(b.rpoNowMs)}${b.rpoMet ? "" : " BREACHED"}`,
                formatDuration(b.rpoTargetMs),
                b.lastReverification === null ? "(not yet)" : `${b.lastReverification.at} ${b.lastReverification.passed ? "passed" : `FAILED ${b.lastReverification.folder}`}`,
              ],
        ),
      ),
    ),
  );
  out.push("", "Last drill");
  const d = r.lastDrill;
  if (r.lastDrillError !== undefined) out.push(`  cannot read drill reports: ${r.lastDrillError}`);
  else if (d === null) out.push("  (no drill report yet)");
  else {
    const ms = (v: unknown): string => (typeof v === "number" ? formatDuration(v) : "not measured");
    out.push(`  ${String(d["drillId"])}: ${String(d["verdict"]).toUpperCase()} (${String(d["primary"])} → ${String(d["target"])}, finished ${String(d["finishedAt"])}), RTO ${ms(d["rtoMs"])}, RPO ${ms(d["rpoMs"])}`);
  }
  if (r.errors.length > 0) out.push("", "Could not read (status incomplete)", ...r.errors.map((p) => `  - ${p}`));
  if (r.attention.length > 0) out.push("", "Needs attention", ...r.attention.map((p) => `  - ${p}`));
  return out.join("\n");
}
