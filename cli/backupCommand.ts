import type { BackupRunResult } from "../shared/backup/orchestrations/backupHsm";
import type { CliArgs } from "./cliArgs";
import type { CliContext } from "./cliContext";
import type { CliIo } from "./cliIo";
import { createFunctionAppClient, startedRunsOf } from "./functionAppClient";
import { UsageError } from "./usageError";
import { outputOf, waitForInstances } from "./waitForInstances";

/**
 * `backup [--hsm N]`: `POST /api/backups` (the app's own starter: one `hsmBackup` per primary HSM with the input
 * the nightly timer builds; tonight's singleton id when tonight has no run yet, a running one followed instead
 * of started, else `…:manual-{stamp}`), then follows each run. Exit 1 unless every run completed with a
 * verified backup.
 */
export async function backupCommand(ctx: CliContext, args: CliArgs, io: CliIo): Promise<number> {
  const primaries = ctx.settings.hsms.filter((h) => h.role === "primary").map((h) => h.name);
  if (args.hsm !== undefined && !primaries.includes(args.hsm)) {
    const target = ctx.settings.hsms.some((h) => h.name === args.hsm);
    throw new UsageError(`--hsm "${args.hsm}" is ${target ? "a drill target; the backup workflow backs up primaries only" : "not a configured HSM"}; use one of ${primaries.join(", ") || "(none configured)"}.`);
  }
  const app = createFunctionAppClient(args.appUrl, ctx.functionKeyFor);
  const runs = startedRunsOf("backups", await app.post("backups", args.hsm === undefined ? {} : { hsm: args.hsm }));
  for (const r of runs) {
    io.err(r.action === "following" ? `${r.id}: already running; following it instead of starting a second backup of ${String(r["hsmName"])}` : `${r.id}: started (full backup of ${String(r["hsmName"])})`);
  }
  const ids = runs.map((r) => r.id);
  const finals = await waitForInstances(app, ids, io, { timeoutMs: args.timeoutMs });
  const results = finals.map((s) => {
    const out = outputOf(s) as BackupRunResult | undefined;
    return { instanceId: s.instanceId, runtimeStatus: s.runtimeStatus, ok: s.runtimeStatus === "Completed" && out?.kind === "completed", output: out ?? s.output ?? null };
  });
  if (args.json) io.out(JSON.stringify({ backups: results }, null, 2));
  else {
    for (const r of results) {
      const o = r.output as Partial<BackupRunResult> | string | null;
      if (r.ok && typeof o === "object" && o !== null) io.out(`${r.instanceId}: verified backup ${String(o.folder)} (job ${String(o.jobId)})`);
      else io.out(`${r.instanceId}: ${r.runtimeStatus} ${typeof o === "string" ? o : JSON.stringify(o)}`);
    }
  }
  return results.every((r) => r.ok) ? 0 : 1;
}
