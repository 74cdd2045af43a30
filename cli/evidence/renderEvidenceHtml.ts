import { escapeHtml as e } from "../../shared/drill/escapeHtml";

type Json = Record<string, unknown>;

const cell = (v: unknown): string => (v === null || v === undefined ? "—" : typeof v === "object" ? e(JSON.stringify(v)) : e(String(v)));

function table(id: string, rows: Json[], columns: string[]): string {
  if (rows.length === 0) return `<p id="${id}" class="none">none</p>`;
  return `<table id="${id}"><tr>${columns.map((c) => `<th>${e(c)}</th>`).join("")}</tr>\n${rows.map((r) => `<tr>${columns.map((c) => `<td>${cell(r[c])}</td>`).join("")}</tr>`).join("\n")}</table>`;
}

/**
 * The evidence pack as one self-contained page for an auditor: every section of evidence.json, values escaped
 * (names come from HSMs and records), no scripts and no external resources (the CSP forbids them). evidence.json
 * is what is signed; this page is a rendering of it, bound to it by its SHA-256 in the signed `attachments`.
 */
export function renderEvidenceHtml(p: Json): string {
  const list = (k: string): Json[] => (Array.isArray(p[k]) ? (p[k] as Json[]) : []);
  const period = p["period"] as { from: string; to: string };
  const scan = p["exposureScan"] as { result: string; scanned: number; findings: Json[] };
  const backups = list("backups");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Key lifecycle evidence ${e(period.from)} – ${e(period.to)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse;margin:.5rem 0 1.5rem}
td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top;font-size:.9rem}.none{color:#666}
</style>
</head>
<body>
<h1>Key lifecycle evidence</h1>
<p>Period ${e(period.from)} – ${e(period.to)}; generated ${cell(p["generatedAt"])} by ${cell((p["generatedBy"] as Json | undefined)?.["principalId"])}. evidence.json is signed by an HSM key (evidence.sig, signing-key.pem): <code>openssl dgst -sha256 -verify signing-key.pem -signature evidence.sig evidence.json</code></p>
<h2>Controls</h2>
${table("controls", list("controls"), ["framework", "control", "requirement", "status", "findings", "evidence"])}
<h2>Keys</h2>
${table("keys", list("keys"), ["instance", "name", "rule", "cryptoperiod", "cryptoperiodEndsOn", "pastCryptoperiod", "lastRotation", "lastVerification", "expiresOn"])}
<h2>Backups</h2>
${table("backups", backups, ["hsm", "lastVerified", "rpoNowMs", "rpoTargetMs", "rpoMet"])}
${table("retained-backups", backups.flatMap((b) => ((b["retained"] as Json[] | undefined) ?? []).map((r) => ({ hsm: b["hsm"], ...r }))), ["hsm", "folder", "completedAt", "verified", "pinned", "location", "copy"])}
<h2>Restore drills</h2>
${table("drills", list("drills"), ["drillId", "verdict", "primary", "target", "rtoMs", "rtoTargetMs", "rtoMet", "rpoMs", "rpoTargetMs", "rpoMet", "ranBy", "failures"])}
<h2>Access</h2>
${table("access", list("access"), ["instance", "role", "assignments", "drift"])}
<h2>Destructive actions</h2>
${table("destructive", list("destructiveActions"), ["at", "operation", "instance", "target", "outcome", "requester", "approvers"])}
<h2>Failures</h2>
${table("failures", list("failures"), ["at", "workflow", "operation", "instance", "cause"])}
<h2>Exposure scan</h2>
<p id="exposure" data-result="${e(scan.result)}">${e(scan.result)}: ${scan.scanned} item(s) scanned, ${scan.findings.length} finding(s).</p>
${table("exposure-findings", scan.findings, ["where", "kind"])}
<h2>Log retention</h2>
<pre id="retention">${e(JSON.stringify(p["logRetention"], null, 2))}</pre>
${list("unavailable").length > 0 ? `<h2>Could not be read</h2><ul>${(p["unavailable"] as string[]).map((u) => `<li>${e(u)}</li>`).join("")}</ul>` : ""}
</body>
</html>
`;
}
