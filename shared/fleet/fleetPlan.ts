import { nextReverification } from "../backup/reverifySchedule";
import { nextScheduledRun } from "../config/ncrontab";
import { planRetention, type RetentionPlan } from "../backup/planRetention";
import { checkDrillSafety } from "../drill/activities/checkSafety";
import { createDrillDeps } from "../drill/activities/depsFromSettings";
import { findLatestVerifiedBackup } from "../drill/activities/findLatestVerifiedBackup";
import { errorText } from "../errors/errorText";
import { backupView } from "./backupView";
import type { FleetContext } from "./fleetContext";
import { rotationView, type RotationView } from "./rotationView";

export interface DrillPlan {
  pair: string;
  safe: boolean;
  /** Why the interlocks would refuse the drill (empty when safe). */
  refusals: string[];
  /** The backup a drill started now would restore (the next scheduled drill takes it unless a newer one is verified first), or why there is none. */
  backup: { folder: string; endTime: string; keyCount: number } | null;
  noBackupReason?: string;
  rpoIfRunNowMs: number | null;
  rpoTargetMs: number;
  rpoMet: boolean | null;
  /** DRILL_SCHEDULE and its next run after the plan's instant (null when the schedule cannot be read). */
  schedule: string;
  nextRunAt: string | null;
  error?: string;
}

export interface FleetPlan {
  at: string;
  rotation: RotationView;
  retention: Array<{ hsm: string; plan: RetentionPlan | null; error?: string }>;
  drills: DrillPlan[];
  /** When the stored backups are next re-verified (BACKUP_REVERIFY_SCHEDULE). */
  reverification: { schedule: string; nextAt: string };
  errors: string[];
}

/**
 * The dry run of all three workflows with the code the workflows themselves run (listDueKeys / planRetention /
 * checkDrillSafety + findLatestVerifiedBackup), so the plan matches what a real run does: which keys would rotate,
 * which backups retention would delete or keep and why, and when the next drill runs and which backup it would
 * restore. Only list, read and identity calls: nothing is created, rotated, deleted or restored. `plan` (CLI) and
 * `GET /api/plan` both show it.
 */
export async function fleetPlan(ctx: FleetContext): Promise<FleetPlan> {
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
  return { at: rotation.at, rotation, retention, drills, reverification: { schedule, nextAt: nextReverification(schedule, ctx.now) }, errors };
}

async function planDrills(ctx: FleetContext): Promise<DrillPlan[]> {
  if (ctx.settings.drillPairs.length === 0) return [];
  const all = createDrillDeps(ctx.settings, ctx.credential("drill"));
  // A dry run holds nothing: without `reference`, choosing the backup writes no hold against retention.
  const backups = all.backups;
  const deps = { ...all, backups: { listBackups: backups.listBackups.bind(backups), getBackup: backups.getBackup.bind(backups) } };
  const rpoTargetMs = ctx.settings.objectives.rpoMs;
  const schedule = ctx.settings.schedules.drill;
  let nextRunAt: string | null = null;
  try {
    nextRunAt = nextScheduledRun(schedule, ctx.now).toISOString();
  } catch {
    // loadSettings validated the schedule; a value it accepted that still cannot be stepped stays "unknown".
  }
  return Promise.all(
    ctx.settings.drillPairs.map(async (p): Promise<DrillPlan> => {
      const plan: DrillPlan = { pair: `${p.primary}=${p.target}`, safe: false, refusals: [], backup: null, rpoIfRunNowMs: null, rpoTargetMs, rpoMet: null, schedule, nextRunAt };
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

/** The JSON of `plan --json` and `GET /api/plan` (see README "Plan"); fields are only ever added. */
export function fleetPlanJson(r: FleetPlan): unknown {
  return {
    schemaVersion: 1,
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

