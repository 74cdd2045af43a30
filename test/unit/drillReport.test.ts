import { describe, expect, it } from "vitest";
import { buildDrillReport, type DrillReportInput } from "../../shared/drill/drillReport";
import { escapeHtml } from "../../shared/drill/escapeHtml";
import { measureObjectives } from "../../shared/drill/measureObjectives";
import { renderDrillReportHtml } from "../../shared/drill/renderDrillReportHtml";
import { drillEventFor } from "../../shared/drill/drillEventFor";
import { validateLifecycleEventData } from "../../shared/events/validateLifecycleEventData";

const objectives = measureObjectives(
  { drillStart: "2026-11-23T03:00:00Z", backupEnd: "2026-11-23T01:00:00Z", restoreStart: "2026-11-23T03:01:00Z", verificationDone: "2026-11-23T03:03:00Z" },
  { rpoMs: 26 * 3_600_000, rtoMs: 3_600_000 },
);

const base: DrillReportInput = {
  drillId: "drill:primary:dr:20261123",
  kind: "full",
  primary: { name: "primary", url: "https://p.managedhsm.azure.net" },
  target: { name: "dr", url: "https://d.managedhsm.azure.net" },
  startedAt: "2026-11-23T03:00:00.000Z",
  finishedAt: "2026-11-23T03:03:00.000Z",
  backup: { folder: "mhsm-primary-2026112301", folderUrl: "https://s/b/mhsm-primary-2026112301", jobId: "job1", startTime: "2026-11-23T00:59:00Z", endTime: "2026-11-23T01:00:00Z" },
  restore: { jobId: "job2", status: "Succeeded", startTime: "2026-11-23T03:01:00Z", endTime: "2026-11-23T03:02:00Z" },
  objectives,
  checks: [
    { name: "inventory", passed: true, detail: "3/3 keys" },
    { name: "roleAssignments", passed: true, detail: "4/4" },
  ],
  singleKeyGets: 6,
};

describe("buildDrillReport", () => {
  it("passes only when every check passed and both objectives were met", () => {
    const r = buildDrillReport(base);
    expect(r.verdict).toBe("passed");
    expect(r.failures).toEqual([]);
    expect(r.schema).toBe("hsm-lifecycle/drill-report");
  });

  it("a failed check, a breached objective or an early failure fails it, each named", () => {
    const failedCheck = buildDrillReport({ ...base, checks: [...base.checks, { name: "cryptoProbe:signer", passed: false, detail: "0 of 2 passed" }] });
    expect(failedCheck.verdict).toBe("failed");
    expect(failedCheck.failures).toEqual(["cryptoProbe:signer failed: 0 of 2 passed"]);

    const breached = buildDrillReport({ ...base, objectives: measureObjectives({ drillStart: "2026-11-23T03:00:00Z", backupEnd: "2026-11-20T01:00:00Z", restoreStart: "2026-11-23T03:01:00Z", verificationDone: "2026-11-23T03:03:00Z" }, { rpoMs: 86_400_000, rtoMs: 3_600_000 }) });
    expect(breached.verdict).toBe("failed");
    expect(breached.failures[0]).toMatch(/^RPO .* exceeds the target/);

    const { objectives: _o, ...noObjectives } = base;
    const early = buildDrillReport({ ...noObjectives, checks: [], failure: "[BackupIntegrityFailed] The backup folder failed the HSM's integrity check" });
    expect(early.verdict).toBe("failed");
    expect(early.failures).toEqual(["[BackupIntegrityFailed] The backup folder failed the HSM's integrity check"]);
  });

  it("a drill without measured objectives and no failure cannot pass", () => {
    const { objectives: _o, ...noObjectives } = base;
    expect(buildDrillReport(noObjectives).verdict).toBe("failed");
  });
});

describe("renderDrillReportHtml", () => {
  it("shows verdict, RTO, RPO and every check", () => {
    const html = renderDrillReportHtml(buildDrillReport(base));
    expect(html).toContain('data-verdict="passed"');
    expect(html).toMatch(/<tr data-objective="rto"><th>RTO<\/th><td>2m 0s<\/td><td>1h 0m 0s<\/td><td class="pass">met<\/td><\/tr>/);
    expect(html).toMatch(/<tr data-objective="rpo"><th>RPO<\/th><td>2h 0m 0s<\/td>/);
    expect(html).toContain('<tr data-check="inventory" class="pass"><td>inventory</td><td>passed</td>');
    expect(html).toContain('<tr data-check="roleAssignments" class="pass">');
    expect(html).toContain("default-src 'none'");
    expect(html).not.toMatch(/<script/i);
  });

  it("escapes every value that came from an HSM or storage", () => {
    const evil = `<script>alert("x")</script>&'`;
    const html = renderDrillReportHtml(
      buildDrillReport({
        ...base,
        drillId: "d1",
        primary: { name: `p${evil}`, url: "https://p" },
        checks: [{ name: `inventory${evil}`, passed: false, detail: `key ${evil}`, problems: [`${evil}/v1: missing`] }],
      }),
    );
    expect(html).not.toContain("<script>");
    expect(html).not.toContain('alert("x")');
    expect(html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;");
    expect(html).toContain('data-verdict="failed"');
    expect(html).toContain('<ul id="failures">');
  });

  it("escapeHtml covers the five characters", () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  });
});

describe("drillEventFor", () => {
  const named = { ...base, primary: { name: "contoso-primary", url: "https://p" }, target: { name: "contoso-dr", url: "https://d" }, keysVerified: 3 };

  it("a passed drill gives a schema-valid DrillCompleted with RTO/RPO in seconds", () => {
    const event = drillEventFor(buildDrillReport(named), "drill:contoso-primary:contoso-dr:1");
    expect(event).toEqual({
      type: "HsmLifecycle.DrillCompleted",
      data: {
        primaryHsm: "contoso-primary",
        drHsm: "contoso-dr",
        folderUrl: base.backup!.folderUrl,
        keysVerified: 3,
        rtoSeconds: 120,
        rpoSeconds: 7200,
        runId: "drill:contoso-primary:contoso-dr:1",
        startedAt: base.startedAt,
        completedAt: base.finishedAt,
      },
    });
    expect(validateLifecycleEventData(event.type, event.data)).toEqual([]);
  });

  it("a failed drill gives a schema-valid DrillFailed with the stage it reached and the first code", () => {
    const { restore: _r, ...noRestore } = named;
    const restoreFailed = drillEventFor(buildDrillReport({ ...noRestore, checks: [], failure: "[BackupIntegrityFailed] The backup folder failed the HSM's integrity check." }), "run-1");
    expect(restoreFailed).toMatchObject({ type: "HsmLifecycle.DrillFailed", data: { stage: "restore", errorCode: "BackupIntegrityFailed", failedAt: base.finishedAt } });
    expect(validateLifecycleEventData(restoreFailed.type, restoreFailed.data)).toEqual([]);

    const verifyFailed = drillEventFor(buildDrillReport({ ...named, checks: [{ name: "inventory", passed: false, detail: "1 difference" }] }), "run-2");
    expect(verifyFailed.data).toMatchObject({ stage: "verify", errorCode: "VerificationFailed", message: "inventory failed: 1 difference" });
    expect(validateLifecycleEventData(verifyFailed.type, verifyFailed.data)).toEqual([]);

    const { backup: _b, ...noBackup } = noRestore;
    expect(drillEventFor(buildDrillReport({ ...noBackup, checks: [], failure: "[NoVerifiedBackup] none" }), "run-3").data).toMatchObject({ stage: "selectBackup", errorCode: "NoVerifiedBackup" });
  });
});
