import { formatDuration } from "../shared/drill/measureObjectives";
import { fleetStatus, fleetStatusJson, type FleetStatus } from "../shared/fleet/fleetStatus";
import type { CliContext } from "./cliContext";
import type { CliIo } from "./cliIo";
import { formatTable, indent } from "./formatTable";

/**
 * `status`: per configured instance the keys due and the keys nobody rotates, per primary HSM the last verified
 * backup and "RPO now", and the last drill (see `fleetStatus`, which the fleet page shares). Read-only. Exit 1 when
 * something could not be read (the status is incomplete); findings are listed under "attention" (and in the
 * JSON), and with `check` (`--check`, for a monitor) they exit 1 as well.
 */
export async function statusCommand(ctx: CliContext, io: CliIo, json: boolean, credential: "managed-identity" | "default" = "managed-identity", check = false): Promise<number> {
  const result = await fleetStatus(ctx, credential);
  if (json) io.out(JSON.stringify(fleetStatusJson(result, ctx.settings), null, 2));
  else io.out(render(result));
  return result.errors.length > 0 || (check && result.attention.length > 0) ? 1 : 0;
}

function render(r: FleetStatus): string {
  const out: string[] = [`hsm-lifecycle status at ${r.at}`, ""];
  out.push("Keys due for rotation");
  if (r.rotation.policyError !== undefined) out.push(`  cannot decide: ${r.rotation.policyError}`);
  const rows: string[][] = [];
  for (const i of r.rotation.instances) {
    if (!i.ok) {
      rows.push([i.instance, "-", "ERROR", i.error]);
      continue;
    }
    if (i.due.length === 0) rows.push([i.instance, "(none)", "", `${i.listed} keys listed`]);
    for (const d of i.due) rows.push([i.instance, d.name, d.decision.reason, `rule ${d.decision.rule}${d.expiresOn === undefined ? "" : `, expires ${d.expiresOn}`}`]);
  }
  if (rows.length > 0) out.push(indent(formatTable(["INSTANCE", "KEY", "REASON", "DETAIL"], rows)));
  if (r.unrotatable.length > 0) {
    out.push("", "Keys nobody rotates (a person must act)");
    out.push(indent(formatTable(["INSTANCE", "KEY", "WHY", "NOTICE"], r.unrotatable.map((k) => [k.instance, k.key, k.reason, k.notice ?? "-"]))));
  }
  out.push("", "Backups (last verified per HSM)");
  out.push(
    indent(
      formatTable(
        ["HSM", "LAST VERIFIED", "COMPLETED", "RPO NOW", "RPO TARGET", "LAST RE-VERIFIED"],
        r.backups.map((b) =>
          b.error !== undefined
            ? [b.hsm, "ERROR", b.error, "", "", ""]
            : [
                b.hsm,
                b.lastVerified?.folder ?? "(none)",
                b.lastVerified?.completedAt ?? "",
                b.rpoNowMs === null ? "-" : `${formatDuration(b.rpoNowMs)}${b.rpoMet ? "" : " BREACHED"}`,
                formatDuration(b.rpoTargetMs),
                b.lastReverification === null ? "(not yet)" : `${b.lastReverification.at} ${b.lastReverification.passed ? "passed" : `FAILED ${b.lastReverification.folder}`}`,
              ],
        ),
      ),
    ),
  );
  out.push("", "Last drill");
  const d = r.lastDrill;
  if (r.lastDrillError !== undefined) out.push(`  cannot read drill reports: ${r.lastDrillError}`);
  else if (d === null) out.push("  (no drill report yet)");
  else {
    const ms = (v: unknown): string => (typeof v === "number" ? formatDuration(v) : "not measured");
    out.push(`  ${String(d["drillId"])}: ${String(d["verdict"]).toUpperCase()} (${String(d["primary"])} → ${String(d["target"])}, finished ${String(d["finishedAt"])}), RTO ${ms(d["rtoMs"])}, RPO ${ms(d["rpoMs"])}`);
  }
  if (r.errors.length > 0) out.push("", "Could not read (status incomplete)", ...r.errors.map((p) => `  - ${p}`));
  if (r.attention.length > 0) out.push("", "Needs attention", ...r.attention.map((p) => `  - ${p}`));
  return out.join("\n");
}
