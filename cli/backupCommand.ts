import { orchestrationNames } from "../shared/names";
import type { BackupRunResult } from "../shared/backup/orchestrations/backupHsm";
import { backupInstanceId } from "../shared/backup/runInput";
import { nightlyBackupInputs } from "../shared/backup/nightlyBackup";
import type { CliArgs } from "./cliArgs";
import type { CliContext } from "./cliContext";
import type { CliIo } from "./cliIo";
import { createFunctionAppClient } from "./functionAppClient";
import { instanceStamp } from "./instanceStamp";
import { UsageError } from "./usageError";
import { outputOf, waitForInstances } from "./waitForInstances";

/**
 * `backup [--hsm N]`: one `hsmBackup` per primary HSM with the input the nightly timer builds
 * (`nightlyBackupInputs`), through the Durable HTTP API. Tonight's singleton id `backup:{hsm}:{night}` is used
 * when tonight has no run yet (so the timer later that night skips instead of backing up twice); a running one
 * is followed instead of started; after a finished one a new run gets `…:cli-{stamp}`. Exit 1 unless every
 * run completed with a verified backup.
 */
export async function backupCommand(ctx: CliContext, args: CliArgs, io: CliIo): Promise<number> {
  const primaries = ctx.settings.hsms.filter((h) => h.role === "primary").map((h) => h.name);
  if (args.hsm !== undefined && !primaries.includes(args.hsm)) {
    const target = ctx.settings.hsms.some((h) => h.name === args.hsm);
    throw new UsageError(`--hsm "${args.hsm}" is ${target ? "a drill target; the backup workflow backs up primaries only" : "not a configured HSM"}; use one of ${primaries.join(", ") || "(none configured)"}.`);
  }
  const now = new Date();
  const inputs = nightlyBackupInputs(ctx.settings, now)
    .filter((i) => args.hsm === undefined || i.hsmName === args.hsm)
    // Start now: the timer's `scheduledFor` would make the run wait for the scheduled minute.
    .map(({ scheduledFor: _scheduled, ...rest }) => rest);
  const app = createFunctionAppClient(args.appUrl, ctx.functionKey);
  const ids: string[] = [];
  for (const input of inputs) {
    const nightly = backupInstanceId(input.hsmName, input.night);
    const existing = await app.getStatus(nightly);
    if (existing !== undefined && ["Running", "Pending", "ContinuedAsNew", "Suspended"].includes(existing.runtimeStatus)) {
      io.err(`${nightly}: already ${existing.runtimeStatus}; following it instead of starting a second backup of ${input.hsmName}`);
      ids.push(nightly);
      continue;
    }
    const id = existing === undefined ? nightly : `${nightly}:cli-${instanceStamp(now)}`;
    await app.startOrchestration(orchestrationNames.hsmBackup, id, input);
    io.err(`${id}: started (full backup of ${input.hsmName})`);
    ids.push(id);
  }
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
