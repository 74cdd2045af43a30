import { createHash } from "node:crypto";
import { escapeHtml as e } from "../drill/escapeHtml";
import { formatDuration } from "../drill/measureObjectives";
import type { FleetContext } from "./fleetContext";
import { fleetKeys, type FleetStatus } from "./fleetStatus";

/** The page's only style sheet; the Content-Security-Policy allows exactly this text by its hash. */
const STYLE = `body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:80rem}
table{border-collapse:collapse;margin:1rem 0}caption{text-align:left;font-weight:bold;padding:.3rem 0}
td,th{border:1px solid #bbb;padding:.3rem .6rem;text-align:left;vertical-align:top}thead th{background:#eee}
.bad{color:#b00020;font-weight:bold}.ok{color:#176b21}#attention li{margin:.3rem 0}`;

/**
 * The Content-Security-Policy of the fleet page: nothing may load or run (no scripts at all, no images, fonts,
 * frames, forms or base URL), only the page's own style sheet, allowed by its hash rather than 'unsafe-inline'.
 */
export const FLEET_PAGE_CSP = `default-src 'none'; style-src 'sha256-${createHash("sha256").update(STYLE).digest("base64")}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

/**
 * The fleet page a person at the console reads: what needs attention first, then every HSM and vault, each
 * instance's keys by days to expiry, the last verified backup and RPO now per primary, and the last drill. Plain
 * semantic tables (`<caption>`, `<th scope>`), no scripts; every value is escaped (key names and drill texts come
 * from the services and may contain markup). `data-*` hooks let tests find rows.
 */
export function renderFleetHtml(r: FleetStatus, settings: FleetContext["settings"]): string {
  const now = Date.parse(r.at);
  const out: string[] = [];
  out.push(`<section aria-labelledby="attention-h"><h2 id="attention-h">Needs attention (${r.attention.length})</h2>`);
  out.push(r.attention.length === 0 ? `<p class="ok">Nothing needs attention.</p>` : `<ul id="attention">${r.attention.map((a) => `<li data-attention>${e(a)}</li>`).join("")}</ul>`);
  if (r.errors.length > 0) out.push(`<h3>Could not read (this page is incomplete)</h3><ul id="errors">${r.errors.map((x) => `<li class="bad">${e(x)}</li>`).join("")}</ul>`);
  out.push(`</section>`);

  const views = new Map(r.rotation.instances.map((i) => [i.instance, i]));
  const fleetRows = [
    ...settings.hsms.map((h) => ({ name: h.name, kind: "Managed HSM", role: h.role === "drillTarget" ? "drill target (never rotated or backed up)" : "primary", url: h.url })),
    ...settings.vaults.map((v) => ({ name: v.name, kind: "Key Vault", role: "vault", url: v.url })),
  ].map((f) => {
    const v = views.get(f.name);
    const keys = v === undefined ? "-" : v.ok ? `${v.listed} listed, ${v.due.length} due` : `could not read: ${v.error}`;
    return `<tr data-instance="${e(f.name)}"><th scope="row">${e(f.name)}</th><td>${e(f.kind)}</td><td>${e(f.role)}</td><td>${e(f.url)}</td><td>${e(keys)}</td></tr>`;
  });
  out.push(table("fleet", "HSMs and vaults", ["Name", "Kind", "Role", "URL", "Keys"], fleetRows));

  for (const i of r.rotation.instances) {
    if (!i.ok) continue;
    const rows = fleetKeys(i, now).map((k) => {
      const days = k.daysToExpiry === null ? "no expiry" : k.daysToExpiry < 0 ? "expired" : `${k.daysToExpiry} d`;
      return (
        `<tr data-key="${e(`${i.instance}/${k.name}`)}"><th scope="row">${e(k.name)}</th><td${k.daysToExpiry !== null && k.daysToExpiry < 0 ? ' class="bad"' : ""}>${e(days)}</td>` +
        `<td>${e(k.expiresOn ?? "-")}</td><td>${e(k.lastRotatedOn ?? "-")}</td><td>${e(k.enabled ? k.decision : `${k.decision} (disabled)`)}</td></tr>`
      );
    });
    out.push(table(`keys-${i.instance}`, `Keys of ${i.instance}, soonest expiry first`, ["Key", "Days to expiry", "Expires", "Last rotated (current version created)", "Next sweep"], rows));
  }

  const backupRows = r.backups.map((b) => {
    if (b.error !== undefined) return `<tr data-backup="${e(b.hsm)}"><th scope="row">${e(b.hsm)}</th><td colspan="5" class="bad">could not read: ${e(b.error)}</td></tr>`;
    const lv = b.lastVerified;
    return (
      `<tr data-backup="${e(b.hsm)}"><th scope="row">${e(b.hsm)}</th><td>${e(lv?.folder ?? "none")}</td><td>${e(lv?.completedAt ?? "-")}</td><td>${e(lv?.verifiedAt ?? "-")}</td>` +
      `<td class="${b.rpoMet ? "ok" : "bad"}">${b.rpoNowMs === null ? "no recovery point" : e(`${formatDuration(b.rpoNowMs)}${b.rpoMet ? "" : " (BREACHED)"}`)}</td><td>${e(formatDuration(b.rpoTargetMs))}</td></tr>`
    );
  });
  out.push(table("backups", "Backups: last verified per primary HSM", ["HSM", "Last verified backup", "Completed", "Verified", "RPO now", "RPO target"], backupRows));

  const d = r.lastDrill;
  if (r.lastDrillError !== undefined) out.push(`<h2>Last drill</h2><p class="bad">Could not read the drill reports: ${e(r.lastDrillError)}</p>`);
  else if (d === null) out.push(`<h2>Last drill</h2><p>No restore drill has run yet.</p>`);
  else {
    const ms = (v: unknown): string => (typeof v === "number" ? formatDuration(v) : "not measured");
    const facts: Array<[string, string, string?]> = [
      ["Drill", String(d["drillId"])],
      ["Verdict", String(d["verdict"]).toUpperCase(), d["verdict"] === "passed" ? "ok" : "bad"],
      ["Primary → DR target", `${String(d["primary"])} → ${String(d["target"])}`],
      ["Finished", String(d["finishedAt"])],
      ["Backup restored", String(d["backup"] ?? "-")],
      ["RTO", ms(d["rtoMs"])],
      ["RPO", ms(d["rpoMs"])],
    ];
    out.push(table("drill", "Last restore drill", undefined, facts.map(([k, v, cls]) => `<tr><th scope="row">${e(k)}</th><td${cls === undefined ? "" : ` class="${cls}" data-verdict`}>${e(v)}</td></tr>`)));
  }

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hsm-lifecycle fleet: ${r.attention.length === 0 ? "nothing needs attention" : `${r.attention.length} need attention`}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>hsm-lifecycle fleet</h1>
<p>As of <time datetime="${e(r.at)}">${e(r.at)}</time>. Read-only: this page changes nothing. The same data as JSON: <code>?format=json</code>.</p>
${out.join("\n")}
</main>
</body>
</html>
`;
}

function table(id: string, caption: string, headers: string[] | undefined, rows: string[]): string {
  const head = headers === undefined ? "" : `<thead><tr>${headers.map((h) => `<th scope="col">${e(h)}</th>`).join("")}</tr></thead>`;
  const body = rows.length === 0 ? `<tr><td colspan="${headers?.length ?? 2}">none</td></tr>` : rows.join("\n");
  return `<table id="${e(id)}"><caption>${e(caption)}</caption>${head}<tbody>\n${body}\n</tbody></table>`;
}
