import { writeFileSync } from "node:fs";
import type { CliArgs } from "./cliArgs";
import type { CliContext } from "./cliContext";
import type { CliIo } from "./cliIo";
import { drillReportById, drillSummary, latestDrillReport, reportsContainer } from "./drillReports";

/**
 * `report [--latest | --drill ID] [--html FILE]`: the stored drill report's JSON summary (verdict, RTO, RPO,
 * checks) on stdout; with --html the report's HTML page is written to FILE. Exit 1 when the drill failed or
 * there is no such report.
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
  io.out(JSON.stringify(drillSummary(stored), null, 2));
  return stored.report.verdict === "passed" ? 0 : 1;
}
