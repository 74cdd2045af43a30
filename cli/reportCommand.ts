import { writeFileSync } from "node:fs";
import type { CliArgs } from "./cliArgs";
import type { CliContext } from "./cliContext";
import type { CliIo } from "./cliIo";
import { drillReportById, drillSummary, latestDrillReport, reportsContainer } from "../shared/fleet/drillReports";
import { renderDrillReport } from "./renderDrillReport";

/**
 * `report [--latest | --drill ID] [--html FILE] [--json]`: the stored drill report's summary (verdict, RTO and
 * RPO against their targets, checks, failures, warnings) on stdout, as text or with --json as JSON; with --html
 * the report's HTML page is written to FILE. Exit 1 when the drill failed or there is no such report.
 */
export async function reportCommand(ctx: CliContext, args: CliArgs, io: CliIo): Promise<number> {
  const container = reportsContainer(ctx);
  const stored = args.drill === undefined ? await latestDrillReport(container) : await drillReportById(container, args.drill);
  if (stored === undefined) {
    io.err(
      args.drill === undefined
        ? `No drill report in ${container.url.split("?")[0] ?? ""} yet. Fix: run "hsm-lifecycle drill" first.`
        : `No report for drill "${args.drill}" in ${container.url.split("?")[0] ?? ""}. Fix: check the id ("hsm-lifecycle report --latest" shows the newest).`,
    );
    return 1;
  }
  if (args.html !== undefined) {
    const html = await container.getBlobClient(stored.htmlBlob).downloadToBuffer();
    writeFileSync(args.html, html);
    io.err(`HTML report written to ${args.html}`);
  }
  if (args.json) io.out(JSON.stringify(drillSummary(stored), null, 2));
  else io.out(renderDrillReport(stored, ctx.settings.objectives, container.url.split("?")[0] ?? ""));
  return stored.report.verdict === "passed" ? 0 : 1;
}
