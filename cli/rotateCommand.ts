import type { RotateKeyOutput, RotationSweepOutput } from "../shared/rotation/types";
import type { DueKey } from "../shared/rotation/activities/listDueKeys";
import type { CliArgs } from "./cliArgs";
import type { CliContext } from "./cliContext";
import type { CliIo } from "./cliIo";
import { createFunctionAppClient, startedRunsOf } from "./functionAppClient";
import { rotationView, type InstanceRotationView } from "../shared/fleet/rotationView";
import { outputOf, waitForInstances } from "./waitForInstances";
import { rotationInstances } from "../shared/config/settings";
import { UsageError } from "./usageError";

type OkView = Extract<InstanceRotationView, { ok: true }>;

/**
 * `rotate`: without --instance/--key, a manual `rotationSweep` (the same orchestration the timer starts: list,
 * notices, batched per-key rotations) through `POST /api/rotations {}`. With them, the CLI lists the chosen
 * instance with the sweep's own `listDueKeys` and asks the app (`POST /api/rotations {"keys": […]}`) to start one
 * `rotateKey` per due key under its deterministic id `rotate:{vault}:{key}:{version}` — an id that already ran
 * is reported, not started again (durable would replace a completed instance). `--dry-run` only shows the
 * decisions. Exit 1 when any rotation failed.
 */
export async function rotateCommand(ctx: CliContext, args: CliArgs, io: CliIo): Promise<number> {
  if (args.instance === undefined && args.key === undefined) {
    if (args.dryRun) return dryRun(ctx, args, io);
    return sweep(ctx, args, io);
  }
  if (args.instance !== undefined) checkRotationInstance(ctx, args.instance);
  const view = await rotationView(ctx, args.instance === undefined ? {} : { instance: args.instance });
  if (view.policyError !== undefined) throw new Error(view.policyError);
  const failed = view.instances.filter((i): i is Extract<InstanceRotationView, { ok: false }> => !i.ok);
  if (failed.length > 0) throw new Error(failed.map((f) => `${f.instance}: ${f.error}`).join(" | "));
  const views = view.instances as OkView[];

  let targets: Array<{ view: OkView; key: DueKey }> = views.flatMap((v) => v.due.map((key) => ({ view: v, key })));
  if (args.key !== undefined) {
    const holders = views.filter((v) => v.due.some((d) => d.name === args.key) || (v.skippedKeys ?? []).some((s) => s.key === args.key) || v.notices.some((n) => n.name === args.key));
    if (holders.length === 0) throw new Error(`[KeyNotFound] No key "${args.key}" on ${views.map((v) => v.instance).join(", ")}. Fix: check the name (and --instance).`);
    if (holders.length > 1) throw new Error(`[BadParameter] Key "${args.key}" exists on ${holders.map((h) => h.instance).join(" and ")}. Fix: add --instance NAME.`);
    targets = targets.filter((t) => t.key.name === args.key);
    if (targets.length === 0) {
      const v = holders[0] as OkView;
      const skip = (v.skippedKeys ?? []).find((s) => s.key === args.key)?.decision;
      const why = skip?.kind === "skip" ? `${skip.reason}${skip.detail === undefined ? "" : ` (${skip.detail})`}${skip.nextDueOn === undefined ? "" : `, next due ${skip.nextDueOn}`}` : "only a notice stage is reached";
      const result = { at: view.at, rotated: [], notDue: { instance: v.instance, key: args.key, why } };
      io.out(args.json ? JSON.stringify(result, null, 2) : `${v.instance}/${args.key} is not due for rotation: ${why}. Nothing started.`);
      return 0;
    }
  }
  if (args.dryRun) {
    const lines = targets.map((t) => ({ instance: t.view.instance, key: t.key.name, version: t.key.version, reason: t.key.decision.reason, rule: t.key.decision.rule, instanceId: t.key.instanceId }));
    io.out(args.json ? JSON.stringify({ at: view.at, dryRun: true, wouldRotate: lines }, null, 2) : lines.length === 0 ? "Nothing is due; nothing would rotate." : lines.map((l) => `would rotate ${l.instance}/${l.key} (${l.reason}, rule ${l.rule}) as ${l.instanceId}`).join("\n"));
    return 0;
  }
  if (targets.length === 0) {
    io.out(args.json ? JSON.stringify({ at: view.at, rotated: [] }, null, 2) : "Nothing is due; nothing started.");
    return 0;
  }

  // The app starts the rotations (POST /api/rotations): it re-decides each with the policy, under the same ids.
  const app = createFunctionAppClient(args.appUrl, ctx.functionKeyFor);
  const runs = startedRunsOf("rotations", await app.post("rotations", { keys: targets.map(({ view: v, key }) => ({ instance: v.instance, name: key.name, version: key.version })) }));
  const runId = typeof runs[0]?.["runId"] === "string" ? runs[0]["runId"] : undefined;
  const results: Array<{ instance: string; key: string; instanceId: string; started: boolean; output?: RotateKeyOutput; runtimeStatus?: string }> = [];
  const waitFor: string[] = [];
  for (const r of runs) {
    const target = targets.find((t) => t.view.instance === r["instance"] && t.key.name === r["key"]);
    const started = r.action === "started";
    io.err(started ? `${r.id}: started (${target?.key.decision.reason ?? "due"}, rule ${target?.key.decision.rule ?? "?"})` : `${r.id}: ${r.reason ?? "already handled"}; not started again`);
    results.push({ instance: String(r["instance"]), key: String(r["key"]), instanceId: r.id, started });
    waitFor.push(r.id);
  }
  const finals = await waitForInstances(app, waitFor, io, { timeoutMs: args.timeoutMs });
  let failures = 0;
  finals.forEach((s, i) => {
    const r = results[i];
    if (r === undefined) return;
    r.runtimeStatus = s.runtimeStatus;
    const out = outputOf(s) as RotateKeyOutput | undefined;
    if (out !== undefined) r.output = out;
    if (s.runtimeStatus !== "Completed" || out?.kind === "failed") failures++;
  });
  if (args.json) io.out(JSON.stringify({ runId, rotated: results, failures }, null, 2));
  else {
    for (const r of results) {
      const o = r.output;
      const what =
        o === undefined ? `${r.runtimeStatus ?? "?"}` : o.kind === "failed" ? `FAILED at ${o.stage}: [${o.code}] ${o.message}` : o.kind === "skipped" ? `skipped: ${o.reason}` : `${o.kind} ${o.previousVersion} → ${o.version} (checks: ${o.checks.join(", ")})`;
      io.out(`${r.instance}/${r.key}: ${what}`);
    }
  }
  return failures === 0 ? 0 : 1;
}

async function dryRun(ctx: CliContext, args: CliArgs, io: CliIo): Promise<number> {
  const view = await rotationView(ctx);
  if (view.policyError !== undefined) throw new Error(view.policyError);
  const lines: Array<Record<string, string>> = [];
  let errors = 0;
  for (const v of view.instances) {
    if (!v.ok) {
      errors++;
      io.err(`${v.instance}: ${v.error}`);
      continue;
    }
    for (const d of v.due) lines.push({ instance: v.instance, key: d.name, version: d.version, reason: d.decision.reason, rule: d.decision.rule, instanceId: d.instanceId });
  }
  io.out(args.json ? JSON.stringify({ at: view.at, dryRun: true, wouldRotate: lines }, null, 2) : lines.length === 0 ? "Nothing is due; nothing would rotate." : lines.map((l) => `would rotate ${l["instance"]}/${l["key"]} (${l["reason"]}, rule ${l["rule"]}) as ${l["instanceId"]}`).join("\n"));
  return errors === 0 ? 0 : 1;
}

async function sweep(ctx: CliContext, args: CliArgs, io: CliIo): Promise<number> {
  const app = createFunctionAppClient(args.appUrl, ctx.functionKeyFor);
  // The app gives it its own id (`sweep:manual:{stamp}`), so a manual sweep never blocks or replaces the daily one.
  const [run] = startedRunsOf("rotations", await app.post("rotations", {}));
  if (run === undefined) throw new Error("[Unexpected] POST /api/rotations started no sweep.");
  const instanceId = run.id;
  io.err(`${instanceId}: started`);
  const [final] = await waitForInstances(app, [instanceId], io, { timeoutMs: args.timeoutMs });
  const out = final === undefined ? undefined : (outputOf(final) as RotationSweepOutput | undefined);
  const ok = final?.runtimeStatus === "Completed" && out !== undefined && out.failures.length === 0 && (out.outcomes.failed ?? 0) === 0;
  if (args.json) io.out(JSON.stringify({ instanceId, runtimeStatus: final?.runtimeStatus, output: out ?? final?.output ?? null }, null, 2));
  else if (out === undefined) io.out(`${instanceId}: ${final?.runtimeStatus ?? "?"} ${JSON.stringify(final?.output ?? null)}`);
  else {
    io.out(`${instanceId}: ${final?.runtimeStatus}; started ${out.started} rotations in ${out.batches} batches, ${out.alreadyHandled} already handled; outcomes ${JSON.stringify(out.outcomes)}`);
    for (const i of out.instances) io.out(`  ${i.name}: ${i.listed} listed, ${i.due} due, ${i.notices} notices (${i.noticesPublished} published)`);
    for (const f of out.failures) io.out(`  FAILED ${f.instanceId} at ${f.stage}: [${f.code}] ${f.message}`);
  }
  return ok ? 0 : 1;
}

/** `--instance` must name an instance the lifecycle rotates (a usage error, exit 2, otherwise). */
function checkRotationInstance(ctx: CliContext, instance: string): void {
  const all = rotationInstances(ctx.settings);
  if (all.some((i) => i.name === instance)) return;
  const drillTarget = ctx.settings.hsms.some((h) => h.name === instance && h.role === "drillTarget");
  throw new UsageError(`--instance "${instance}" is ${drillTarget ? "a drill target, which is never rotated" : "not a configured HSM or vault"}; use one of ${all.map((i) => i.name).join(", ")}.`);
}
