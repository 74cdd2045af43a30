import type { ContainerClient } from "@azure/storage-blob";
import type { DrillReport } from "../drill/drillReport";
import type { FleetContext } from "./fleetContext";

export interface StoredDrillReport {
  /** `{drillId with ':' → '-'}/report.json` in DRILL_REPORTS_CONTAINER. */
  jsonBlob: string;
  htmlBlob: string;
  report: DrillReport;
}

/** The drill-reports container as the drill identity reads it. */
export function reportsContainer(ctx: FleetContext): ContainerClient {
  return ctx.container("drill", ctx.settings.storage.drillReportsContainer);
}

/** The blob folder of a drill id (the drill writes `{id with ':' → '-'}/report.json`, see writeDrillReport). */
export function reportBase(drillId: string): string {
  return drillId.replace(/:/g, "-");
}

/**
 * The newest drill report: one list call over the container, the newest `…/report.json` by last-modified
 * time, then one download. Undefined when no drill has written a report yet.
 */
export async function latestDrillReport(container: ContainerClient): Promise<StoredDrillReport | undefined> {
  let newest: { name: string; modified: number } | undefined;
  for await (const blob of container.listBlobsFlat()) {
    if (!blob.name.endsWith("/report.json")) continue;
    const modified = blob.properties.lastModified?.getTime() ?? 0;
    if (newest === undefined || modified > newest.modified || (modified === newest.modified && blob.name > newest.name)) newest = { name: blob.name, modified };
  }
  if (newest === undefined) return undefined;
  return readReport(container, newest.name);
}

/** The report of one drill id; undefined when that drill wrote none. */
export async function drillReportById(container: ContainerClient, drillId: string): Promise<StoredDrillReport | undefined> {
  const name = `${reportBase(drillId)}/report.json`;
  try {
    return await readReport(container, name);
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return undefined;
    throw e;
  }
}

async function readReport(container: ContainerClient, jsonBlob: string): Promise<StoredDrillReport> {
  const text = (await container.getBlobClient(jsonBlob).downloadToBuffer()).toString("utf8");
  let report: DrillReport;
  try {
    report = JSON.parse(text) as DrillReport;
  } catch {
    throw new Error(`[Unexpected] ${container.url}/${jsonBlob} is not JSON; the report is damaged. Fix: rerun the drill.`);
  }
  return { jsonBlob, htmlBlob: jsonBlob.replace(/report\.json$/, "report.html"), report };
}

/** The short form status and report print. */
export function drillSummary(r: StoredDrillReport): Record<string, unknown> {
  const { report } = r;
  return {
    drillId: report.drillId,
    kind: report.kind,
    verdict: report.verdict,
    primary: report.primary.name,
    target: report.target.name,
    startedAt: report.startedAt,
    finishedAt: report.finishedAt,
    rtoMs: report.objectives?.rtoMs ?? null,
    rpoMs: report.objectives?.rpoMs ?? null,
    objectives: report.objectives ?? null,
    backup: report.backup?.folder ?? null,
    checks: report.checks.map((c) => ({ name: c.name, passed: c.passed, detail: c.detail })),
    failures: report.failures,
    warnings: report.warnings ?? [],
    jsonBlob: r.jsonBlob,
  };
}
