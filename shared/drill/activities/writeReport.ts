import { toLifecycleError } from "../../errors/fromRestError";
import { buildDrillReport, type DrillReport, type DrillReportInput } from "../drillReport";
import { measureObjectives, type ObjectiveTimes } from "../measureObjectives";
import { renderDrillReportHtml } from "../renderDrillReportHtml";
import type { DrillDeps } from "./deps";

export interface WriteDrillReportInput extends Omit<DrillReportInput, "objectives"> {
  /** The four instants RPO and RTO come from; absent when the drill stopped before verification. */
  times?: ObjectiveTimes;
}

export interface WriteDrillReportOutput {
  verdict: DrillReport["verdict"];
  failures: string[];
  jsonBlob: string;
  htmlBlob: string;
  rtoMs?: number;
  rpoMs?: number;
}

/**
 * Activity `writeDrillReport`: measures RTO/RPO against RTO_TARGET / RPO_TARGET (a breach fails the drill),
 * decides the verdict and writes `{drillId}/report.json` and `{drillId}/report.html` to the drill-reports
 * container. Idempotent (same blob names, overwritten), so a retried activity leaves one report.
 */
export async function writeDrillReport(input: WriteDrillReportInput, deps: DrillDeps): Promise<WriteDrillReportOutput> {
  if (!/^[A-Za-z0-9][A-Za-z0-9:._-]{0,200}$/.test(input.drillId)) {
    throw new RangeError(`drillId "${input.drillId}" must be letters, digits, ':', '.', '_' or '-' (it names the report's blobs).`);
  }
  const { times, ...rest } = input;
  const report = buildDrillReport(times === undefined ? rest : { ...rest, objectives: measureObjectives(times, deps.settings.objectives) });
  const base = input.drillId.replace(/:/g, "-");
  const jsonBlob = `${base}/report.json`;
  const htmlBlob = `${base}/report.html`;
  const json = JSON.stringify(report, null, 2);
  const html = renderDrillReportHtml(report);
  try {
    await deps.reports.getBlockBlobClient(jsonBlob).upload(json, Buffer.byteLength(json), { blobHTTPHeaders: { blobContentType: "application/json; charset=utf-8" } });
    await deps.reports.getBlockBlobClient(htmlBlob).upload(html, Buffer.byteLength(html), { blobHTTPHeaders: { blobContentType: "text/html; charset=utf-8" } });
  } catch (e) {
    throw toLifecycleError(e, { service: "storage", operation: "write the drill report", resource: deps.reports.url });
  }
  deps.log?.(`drill ${input.drillId}: ${report.verdict}; report at ${jsonBlob}.`);
  const out: WriteDrillReportOutput = { verdict: report.verdict, failures: report.failures, jsonBlob, htmlBlob };
  if (report.objectives !== undefined) {
    out.rtoMs = report.objectives.rtoMs;
    out.rpoMs = report.objectives.rpoMs;
  }
  return out;
}
