import { formatDuration } from "../shared/drill/measureObjectives";
import type { RestoreDrillOutput } from "../shared/drill/types";
import type { CliArgs } from "./cliArgs";
import type { CliContext } from "./cliContext";
import type { CliIo } from "./cliIo";
import { createFunctionAppClient, startedRunsOf } from "./functionAppClient";
import { outputOf, waitForInstances } from "./waitForInstances";

/**
 * `drill [--pair P] [--mode full|selective] [--key K]`: `POST /api/drills` (the app's own starter, which
 * validates the pair against DRILL_PAIRS and owns the drill's instance id), then follows the drill to its
 * verdict. Exit 0 only for a passed drill.
 */
export async function drillCommand(ctx: CliContext, args: CliArgs, io: CliIo): Promise<number> {
  const app = createFunctionAppClient(args.appUrl, ctx.functionKeyFor);
  const body: Record<string, string> = { mode: args.mode };
  if (args.pair !== undefined) body["pair"] = args.pair;
  if (args.key !== undefined) body["keyName"] = args.key;
  const answer = await app.post("drills", body);
  const [run] = startedRunsOf("drills", answer);
  if (run === undefined) throw new Error(`[Unexpected] POST /api/drills started no drill: ${JSON.stringify(answer.body)}`);
  const id = run.id;
  io.err(`${id}: started (${args.mode} drill${args.pair === undefined ? "" : ` ${args.pair}`})`);
  const [final] = await waitForInstances(app, [id], io, { timeoutMs: args.timeoutMs });
  const out = final === undefined ? undefined : (outputOf(final) as RestoreDrillOutput | undefined);
  const passed = final?.runtimeStatus === "Completed" && out?.verdict === "passed";
  if (args.json) io.out(JSON.stringify({ drillId: id, runtimeStatus: final?.runtimeStatus, output: out ?? final?.output ?? null }, null, 2));
  else if (out === undefined) io.out(`${id}: ${final?.runtimeStatus ?? "?"} ${JSON.stringify(final?.output ?? null)}`);
  else {
    const ms = (v: number | undefined): string => (v === undefined ? "not measured" : formatDuration(v));
    io.out(`${id}: ${out.verdict.toUpperCase()} — RTO ${ms(out.rtoMs)}, RPO ${ms(out.rpoMs)}; report ${out.reportJson}`);
    for (const f of out.failures) io.out(`  - ${f}`);
    for (const w of out.warnings ?? []) io.out(`  ! ${w}`);
  }
  return passed ? 0 : 1;
}
