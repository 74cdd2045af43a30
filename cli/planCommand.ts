import { checkDrillSafety } from "../shared/drill/activities/checkSafety";
import { createDrillDeps } from "../shared/drill/activities/depsFromSettings";
import { findLatestVerifiedBackup } from "../shared/drill/activities/findLatestVerifiedBackup";
import { planRetention, type RetentionPlan } from "../shared/backup/planRetention";
import { formatDuration } from "../shared/drill/measureObjectives";
import { backupView } from "./backupView";
import { nextReverification } from "../shared/backup/reverifySchedule";
import type { CliContext } from "./cliContext";
import type { CliIo } from "./cliIo";
import { errorText } from "./errorText";
import { formatTable, indent } from "./formatTable";
import { rotationView, type RotationView } from "./rotationView";

export interface DrillPlan {
  pair: string;
  safe: boolean;
  /** Why the interlocks would refuse the drill (empty when safe). */
  refusals: string[];
  /** The backup a drill started now would restore, or why there is none. */
  backup: { folder: string; endTime: string; keyCount: number } | null;
  noBackupReason?: string;
  rpoIfRunNowMs: number | null;
  rpoTargetMs: number;
  rpoMet: boolean | null;
  error?: string;
}

export interface PlanResult {
  at: string;
  rotation: RotationView;
  retention: Array<{ hsm: string; plan: RetentionPlan | null; error?: string }>;
  drills: DrillPlan[];
  /** When the stored backups are next re-verified (BACKUP_REVERIFY_SCHEDULE). */
  reverification: { schedule: string; nextAt: string };
  errors: string[];
}

/**
 * `plan`: the dry run of all three workflows with the code the workflows themselves run (listDueKeys /
 * planRetention / checkDrillSafety + findLatestVerifiedBackup), so the plan matches what a real run does.
 * Only list, read and identity calls: nothing is created, rotated, deleted or restored. Exit 1 only when
 * something could not be read.
 */
export async function planCommand(ctx: CliContext, io: CliIo, json: boolean): Promise<number> {
  const [rotation, backups, drills] = await Promise.all([rotationView(ctx), backupView(ctx), planDrills(ctx)]);
  const retention = backups.map((b) => {
    if (b.error !== undefined) return { hsm: b.hsm, plan: null, error: b.error };
    return { hsm: b.hsm, plan: planRetention(b.backups, ctx.settings.retention, ctx.now) };
  });
  const errors: string[] = [];
  if (rotation.policyError !== undefined) errors.push(`rotation policy: ${rotation.policyError}`);
  for (const i of rotation.instances) if (!i.ok) errors.push(`${i.instance}: ${i.error}`);
  for (const r of retention) if (r.error !== undefined) errors.push(`backups of ${r.hsm}: ${r.error}`);
  for (const d of drills) if (d.error !== undefined) errors.push(`drill ${d.pair}: ${d.error}`);
  const schedule = ctx.settings.schedules.reverify;
  const result: PlanResult = { at: rotation.at, rotation, retention, drills, reverification: { schedule, nextAt: nextReverification(schedule, ctx.now) }, errors };
  io.out(json ? JSON.stringify(toJson(result), null, 2) : render(result));
  return errors.length === 0 ? 0 : 1;
}

async function planDrills(ctx: CliContext): Promise<DrillPlan[]> {
  if (ctx.settings.drillPairs.length === 0) return [];
  const deps = createDrillDeps(ctx.settings, ctx.credential("drill"));
  const rpoTargetMs = ctx.settings.objectives.rpoMs;
  return Promise.all(
    ctx.settings.drillPairs.map(async (p): Promise<DrillPlan> => {
      const plan: DrillPlan = { pair: `${p.primary}=${p.target}`, safe: false, refusals: [], backup: null, rpoIfRunNowMs: null, rpoTargetMs, rpoMet: null };
      try {
        const safety = await checkDrillSafety({ primary: p.primary, target: p.target }, deps);
        if (safety.kind === "refused") plan.refusals.push(safety.reason);
        else plan.safe = true;
      } catch (e) {
        plan.error = errorText(e);
      }
      try {
        const b = await findLatestVerifiedBackup({ primary: p.primary, drillStart: ctx.now.toISOString() }, deps);
        if (b.kind === "noVerifiedBackup") {
          plan.noBackupReason = b.reason;
          return plan;
        }
        plan.backup = { folder: b.folder, endTime: b.endTime, keyCount: b.keyCount };
        plan.rpoIfRunNowMs = b.rpoMs;
        plan.rpoMet = b.rpoMs <= rpoTargetMs;
      } catch (e) {
        plan.error ??= errorText(e);
      }
      return plan;
    }),
  );
}

function toJson(r: PlanResult): unknown {
  return {
    at: r.at,
    rotation: {
      ...(r.rotation.policyError !== undefined ? { policyError: r.rotation.policyError } : {}),
      instances: r.rotation.instances.map((i) =>
        i.ok
          ? {
              name: i.instance,
              kind: i.kind,
              listed: i.listed,
              rotate: i.due.map((d) => ({ key: d.name, version: d.version, reason: d.decision.reason, rule: d.decision.rule, dueOn: d.decision.dueOn, expiresOn: d.expiresOn ?? null, instanceId: d.instanceId })),
              notify: i.notices.map((n) => ({ key: n.name, version: n.version, stage: n.stage, eventId: n.eventId, expiresOn: n.expiresOn ?? null })),
              skip: (i.skippedKeys ?? []).map((s) => ({ key: s.key, ...s.decision })),
            }
          : { name: i.instance, kind: i.kind, error: i.error },
      ),
    },
    retention: r.retention,
    reverification: r.reverification,
    drills: r.drills,
    errors: r.errors,
  };
}

function render(r: PlanResult): string {
  const out: string[] = [`hsm-lifecycle plan at ${r.at} (dry run: nothing is changed)`, "", "Rotation"];
  if (r.rotation.policyError !== undefined) out.push(`  cannot decide: ${r.rotation.policyError}`);
  const rows: string[][] = [];
  for (const i of r.rotation.instances) {
    if (!i.ok) {
      rows.push([i.instance, "-", "ERROR", i.error]);
      continue;
    }
    for (const d of i.due) rows.push([i.instance, d.name, "rotate", `${d.decision.reason} (rule ${d.decision.rule}, due ${d.decision.dueOn}${d.expiresOn === undefined ? "" : `, expires ${d.expiresOn}`})`]);
    for (const n of i.notices) rows.push([i.instance, n.name, "notify", `${n.stage === "expired" ? "KeyExpired" : `KeyNearExpiry at stage ${n.stage}`}${n.expiresOn === undefined ? "" : `, expires ${n.expiresOn}`}`]);
    for (const s of i.skippedKeys ?? []) {
      if (s.decision.kind !== "skip") continue;
      const detail = [s.decision.reason, s.decision.rule === undefined ? undefined : `rule ${s.decision.rule}`, s.decision.detail, s.decision.nextDueOn === undefined ? undefined : `next due ${s.decision.nextDueOn}`].filter((x) => x !== undefined).join("; ");
      rows.push([i.instance, s.key, "skip", detail]);
    }
  }
  if (rows.length > 0) out.push(indent(formatTable(["INSTANCE", "KEY", "ACTION", "WHY"], rows)));
  out.push("", "Backup retention");
  for (const ret of r.retention) {
    if (ret.plan === null) {
      out.push(`  ${ret.hsm}: ERROR ${ret.error ?? ""}`);
      continue;
    }
    const p = ret.plan;
    out.push(`  ${ret.hsm}: keep ${p.keep.length}, delete ${p.delete.length} (policy ${p.policy.daily} daily / ${p.policy.weekly} weekly / ${p.policy.monthly} monthly)`);
    const rrows = [...p.delete.map((d) => ["delete", d.folder, d.completedAt, d.reason]), ...p.keep.map((k) => ["keep", k.folder, k.completedAt, k.reasons.join("; ")])];
    if (rrows.length > 0) out.push(indent(indent(formatTable(["ACTION", "BACKUP", "COMPLETED", "WHY"], rrows))));
  }
  out.push("", `Backup re-verification: next at ${r.reverification.nextAt} (BACKUP_REVERIFY_SCHEDULE "${r.reverification.schedule}"): every stored backup re-hashed against its manifest`);
  out.push("", "Restore drill");
  if (r.drills.length === 0) out.push("  no DRILL_PAIRS configured");
  for (const d of r.drills) {
    out.push(`  ${d.pair}: interlocks ${d.safe ? "pass" : "REFUSE"}${d.refusals.length > 0 ? ` — ${d.refusals.join(" ")}` : ""}`);
    if (d.backup !== null) {
      out.push(`    would restore ${d.backup.folder} (${d.backup.keyCount} keys, ended ${d.backup.endTime})`);
      out.push(`    RPO if run now: ${formatDuration(d.rpoIfRunNowMs ?? 0)} (target ${formatDuration(d.rpoTargetMs)}: ${d.rpoMet ? "met" : "BREACHED"})`);
    } else if (d.noBackupReason !== undefined) out.push(`    no backup to restore: ${d.noBackupReason}`);
    if (d.error !== undefined) out.push(`    ERROR ${d.error}`);
  }
  if (r.errors.length > 0) out.push("", "Could not read (plan incomplete)", ...r.errors.map((e) => `  - ${e}`));
  return out.join("\n");
}
