import { formatDuration } from "../shared/drill/measureObjectives";
import { fleetPlan, fleetPlanJson, type FleetPlan } from "../shared/fleet/fleetPlan";
import type { CliContext } from "./cliContext";
import type { CliIo } from "./cliIo";
import { formatTable, indent } from "./formatTable";

/**
 * `plan`: the dry run of all three workflows (see `fleetPlan`, which `GET /api/plan` shares). Only list, read and
 * identity calls: nothing is created, rotated, deleted or restored. Exit 1 only when something could not be read.
 */
export async function planCommand(ctx: CliContext, io: CliIo, json: boolean): Promise<number> {
  const result = await fleetPlan(ctx);
  io.out(json ? JSON.stringify(fleetPlanJson(result), null, 2) : render(result));
  return result.errors.length === 0 ? 0 : 1;
}

function render(r: FleetPlan): string {
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
    out.push(`  ${d.pair}: next run ${d.nextRunAt ?? "not scheduled"} (DRILL_SCHEDULE "${d.schedule}")`);
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
