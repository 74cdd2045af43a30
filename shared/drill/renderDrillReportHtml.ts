import type { DrillReport } from "./drillReport";
import { escapeHtml as e } from "./escapeHtml";
import { formatDuration } from "./measureObjectives";

/**
 * A self-contained HTML page a person (or an auditor) can read: verdict, RTO, RPO and every check. All values
 * are escaped (key names and tags come from the HSM and may contain markup); no scripts, no external resources
 * (the CSP forbids them), no key material (the report holds none). Elements carry `data-*` hooks for tests.
 */
export function renderDrillReportHtml(r: DrillReport): string {
  const o = r.objectives;
  const objective = (label: string, ms: number | undefined, target: number | undefined, met: boolean | undefined, hook: string): string =>
    `<tr data-objective="${hook}"><th>${label}</th><td>${ms === undefined ? "not measured" : e(formatDuration(ms))}</td>` +
    `<td>${target === undefined ? "" : e(formatDuration(target))}</td><td class="${met ? "pass" : "fail"}">${met === undefined ? "" : met ? "met" : "BREACHED"}</td></tr>`;
  const checks = r.checks
    .map(
      (c) =>
        `<tr data-check="${e(c.name)}" class="${c.passed ? "pass" : "fail"}"><td>${e(c.name)}</td><td>${c.passed ? "passed" : "FAILED"}</td><td>${e(c.detail)}` +
        (c.problems !== undefined && c.problems.length > 0 ? `<ul>${c.problems.map((p) => `<li>${e(p)}</li>`).join("")}</ul>` : "") +
        `</td></tr>`,
    )
    .join("\n");
  const facts: Array<[string, string | undefined]> = [
    ["Drill", `${r.drillId} (${r.kind} restore)`],
    ["Primary", `${r.primary.name} — ${r.primary.url}`],
    ["DR target", `${r.target.name} — ${r.target.url}`],
    ["Started", r.startedAt],
    ["Finished", r.finishedAt],
    ["Backup restored", r.backup === undefined ? undefined : `${r.backup.folder} (job ${r.backup.jobId}, ended ${r.backup.endTime})`],
    ["DR self-backup", r.targetBackup === undefined ? undefined : `${r.targetBackup.folderUrl} (job ${r.targetBackup.jobId}, ended ${r.targetBackup.endTime})`],
    ["Restore job", r.restore === undefined ? undefined : `${r.restore.jobId}: ${r.restore.status}, ${r.restore.startTime} → ${r.restore.endTime ?? "?"}${r.restore.keyName === undefined ? "" : ` (key ${r.restore.keyName})`}`],
    ["Single-key GETs", String(r.singleKeyGets)],
    ["Generated", r.generatedAt],
    ["Run by (object id)", r.principalId],
    ["Manifest SHA-256", r.manifestDigest],
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Restore drill ${e(r.drillId)}: ${r.verdict === "passed" ? "PASSED" : "FAILED"}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}
.pass{color:#176b21}.fail{color:#b00020;font-weight:bold}.warn{color:#8a5300}
#verdict{font-size:1.6rem;padding:.5rem 1rem;display:inline-block;border:2px solid currentColor}
</style>
</head>
<body>
<h1>Restore drill: ${e(r.primary.name)} → ${e(r.target.name)}</h1>
<p id="verdict" data-verdict="${r.verdict}" class="${r.verdict === "passed" ? "pass" : "fail"}">${r.verdict === "passed" ? "PASSED" : "FAILED"}</p>
${r.failures.length > 0 ? `<h2>Why it failed</h2>\n<ul id="failures">${r.failures.map((f) => `<li>${e(f)}</li>`).join("")}</ul>` : ""}
${r.warnings !== undefined && r.warnings.length > 0 ? `<h2>Needs attention</h2>\n<ul id="warnings">${r.warnings.map((w) => `<li class="warn">${e(w)}</li>`).join("")}</ul>` : ""}
<h2>Recovery objectives</h2>
<table id="objectives"><tr><th></th><th>measured</th><th>target</th><th></th></tr>
${objective("RTO", o?.rtoMs, o?.rtoTargetMs, o?.rtoMet, "rto")}
${objective("RPO", o?.rpoMs, o?.rpoTargetMs, o?.rpoMet, "rpo")}
</table>
<h2>Checks</h2>
<table id="checks"><tr><th>check</th><th>result</th><th>detail</th></tr>
${checks}
</table>
<h2>Facts</h2>
<table id="facts">
${facts.filter((f): f is [string, string] => f[1] !== undefined).map(([k, v]) => `<tr><th>${e(k)}</th><td>${e(v)}</td></tr>`).join("\n")}
</table>
</body>
</html>
`;
}
