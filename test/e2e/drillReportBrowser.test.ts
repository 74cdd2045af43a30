/**
 * The drill report's HTML page as a person sees it in a real browser (headless Chromium): the verdict, RTO,
 * RPO and every check's result are rendered and visible, for a passed and a failed drill, and text from the
 * HSM (key names) is shown as text, never run as markup. Chromium missing → the test FAILS with how to install it.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildDrillReport, type DrillReportInput } from "../../shared/drill/drillReport";
import { formatDuration, measureObjectives } from "../../shared/drill/measureObjectives";
import { renderDrillReportHtml } from "../../shared/drill/renderDrillReportHtml";
import { chromiumBinary, renderInChromium } from "./drillChromium";

const dir = mkdtempSync(join(tmpdir(), "drill-report-browser-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base: Omit<DrillReportInput, "checks" | "objectives"> = {
  drillId: "drill:primary:dr:2026-11-22",
  kind: "full",
  primary: { name: "primary", url: "https://127.0.0.1:40001" },
  target: { name: "dr", url: "https://127.0.0.1:40002" },
  startedAt: "2026-11-22T04:00:00.000Z",
  finishedAt: "2026-11-22T04:03:10.500Z",
  backup: { folder: "mhsm-primary-2026112202000000", folderUrl: "http://127.0.0.1:10000/devstoreaccount1/hsm-backups/mhsm-primary-2026112202000000", jobId: "b-1", startTime: "2026-11-22T02:00:00.000Z", endTime: "2026-11-22T02:01:00.000Z" },
  targetBackup: { folderUrl: "http://127.0.0.1:10000/devstoreaccount1/hsm-backups/mhsm-dr-2026112204000100", jobId: "b-2", endTime: "2026-11-22T04:01:00.000Z" },
  restore: { jobId: "r-1", status: "Succeeded", startTime: "2026-11-22T04:01:10.000Z", endTime: "2026-11-22T04:02:00.000Z" },
  singleKeyGets: 6,
  keysVerified: 4,
};
const times = { drillStart: base.startedAt, backupEnd: base.backup!.endTime, restoreStart: base.restore!.startTime, verificationDone: base.finishedAt };

function writeReport(name: string, input: DrillReportInput): string {
  const file = join(dir, `${name}.html`);
  writeFileSync(file, renderDrillReportHtml(buildDrillReport(input)));
  return file;
}

describe("drill report HTML in headless Chromium", () => {
  it("Chromium is installed (the report check cannot run without it)", () => {
    expect(() => chromiumBinary()).not.toThrow();
  });

  it("a passed drill shows PASSED, RTO and RPO against their targets, and every check passed", async () => {
    const objectives = measureObjectives(times, { rtoMs: 3_600_000, rpoMs: 26 * 3_600_000 });
    const file = writeReport("passed", {
      ...base,
      objectives,
      checks: [
        { name: "inventory", passed: true, detail: "4/4 keys and 5/5 versions as in backup mhsm-primary-2026112202000000.", problems: [] },
        { name: "rotationPolicies", passed: true, detail: "4/4 rotation policies match the primary's.", problems: [] },
        { name: "cryptoProbe:<b>signer</b>", passed: true, detail: "signer: 2 of 2 cross-HSM probes passed.", problems: [] },
        { name: "roleAssignments", passed: true, detail: "5/5 role assignments of the primary present on DR.", problems: [] },
      ],
    });
    const seen = await renderInChromium(file);
    expect(seen.title).toMatch(/PASSED/);
    expect(seen.verdict).toEqual({ attr: "passed", text: "PASSED", visible: true });
    const rto = seen.objectives.find((r) => r.name === "rto");
    const rpo = seen.objectives.find((r) => r.name === "rpo");
    expect(rto).toMatchObject({ visible: true, cells: ["RTO", formatDuration(objectives.rtoMs), formatDuration(3_600_000), "met"] });
    expect(rpo).toMatchObject({ visible: true, cells: ["RPO", formatDuration(objectives.rpoMs), formatDuration(26 * 3_600_000), "met"] });
    expect(formatDuration(objectives.rtoMs)).toBe("2m 0.5s");
    expect(seen.checks.map((c) => [c.name, c.cells[1], c.visible])).toEqual([
      ["inventory", "passed", true],
      ["rotationPolicies", "passed", true],
      ["cryptoProbe:<b>signer</b>", "passed", true],
      ["roleAssignments", "passed", true],
    ]);
    // Markup from the HSM is shown literally, not interpreted.
    expect(seen.text).toContain("cryptoProbe:<b>signer</b>");
    expect(seen.text).not.toMatch(/Why it failed/);
    expect(seen.screenshotBytes).toBeGreaterThan(5_000);
  }, 60_000);

  it("a failed drill shows FAILED, why, the breached objective and the failed check", async () => {
    const objectives = measureObjectives(times, { rtoMs: 60_000, rpoMs: 26 * 3_600_000 });
    const file = writeReport("failed", {
      ...base,
      objectives,
      checks: [
        { name: "inventory", passed: false, detail: "3/4 keys and 4/5 versions as in backup mhsm-primary-2026112202000000; 1 difference(s).", problems: ["wrapper: missing on DR."] },
        { name: "roleAssignments", passed: true, detail: "5/5 role assignments of the primary present on DR.", problems: [] },
      ],
    });
    const seen = await renderInChromium(file);
    expect(seen.verdict).toEqual({ attr: "failed", text: "FAILED", visible: true });
    expect(seen.text).toContain("Why it failed");
    expect(seen.text).toMatch(/RTO 2m 0\.5s exceeds the target 1m 0s \(RTO_TARGET\)/);
    expect(seen.objectives.find((r) => r.name === "rto")?.cells[3]).toBe("BREACHED");
    expect(seen.objectives.find((r) => r.name === "rpo")?.cells[3]).toBe("met");
    expect(seen.checks.map((c) => [c.name, c.cells[1]])).toEqual([
      ["inventory", "FAILED"],
      ["roleAssignments", "passed"],
    ]);
    expect(seen.checks[0]!.cells[2]).toContain("wrapper: missing on DR.");
  }, 60_000);
});
