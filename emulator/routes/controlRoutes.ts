/**
 * Non-Azure control endpoints under /_emulator/ (loopback callers only, no token):
 *   GET  /_emulator/info                         name, kind, security domain id, purge protection
 *   GET  /_emulator/clock                        { now, offsetMs }
 *   POST /_emulator/clock   {shiftSeconds|shiftDays|shiftMs}  moves time forward; due rotations run
 *   GET|PUT|DELETE /_emulator/faults             fault injection config (see emulator/faults.ts)
 *   GET  /_emulator/audit?operationName=&since=&oid=&format=   { value: AuditRecord[] } (format: record,
 *                                                resourceLog, AzureDiagnostics, AZKVAuditLogs — see emulator/auditlog/)
 *   GET|PUT|DELETE /_emulator/caller-ip {"loopbackCallerIp":IP}   the address audit records name for loopback callers
 *   GET|PUT|DELETE /_emulator/admin-faults       fail the next N backup jobs (see admin/jobFaults.ts)
 *   POST /_emulator/reset                        empty instance (keys, RBAC back to --admin, audit, clock, faults)
 */
import { isIP } from "node:net";
import type { AuditRecord } from "../audit";
import { azkvAuditLogsRow } from "../auditlog/azkvAuditLogsRow";
import { azureDiagnosticsRow } from "../auditlog/azureDiagnosticsRow";
import { resourceLogRecord } from "../auditlog/resourceLogRecord";
import { parseFaultConfig } from "../faults";
import { clearJobFaults, jobFaultsOf, setJobFaults } from "../admin/jobFaults";
import type { Instance } from "../instance";
import type { EmulatorServices } from "../http/requestContext";
import type { Reply } from "../http/routes";

export interface ControlRequest {
  instance: Instance;
  services: EmulatorServices;
  rawPath: string;
  query: URLSearchParams;
  method: string;
  callerIp: string;
  readBody: () => Promise<Buffer>;
  send: (reply: Reply) => void;
}

/** The shapes GET /_emulator/audit serves: the emulator's record, and what Azure Monitor makes of it. */
const AUDIT_VIEWS: Record<string, (r: AuditRecord) => unknown> = {
  record: (r) => r,
  resourceLog: resourceLogRecord,
  AzureDiagnostics: azureDiagnosticsRow,
  AZKVAuditLogs: azkvAuditLogsRow,
};

const LOOPBACK = new Set(["127.0.0.1", "::1"]);

function err(status: number, code: string, message: string): Reply {
  return { status, body: { error: { code, message } } };
}

export async function handleControlRequest(c: ControlRequest): Promise<void> {
  c.send(await control(c));
}

async function control(c: ControlRequest): Promise<Reply> {
  if (!LOOPBACK.has(c.callerIp)) return err(403, "Forbidden", "Control endpoints under /_emulator/ answer loopback callers only.");
  const path = c.rawPath.replace(/\/$/, "");
  let body: Record<string, unknown> = {};
  if (c.method === "POST" || c.method === "PUT") {
    const raw = await c.readBody();
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString("utf8")) as Record<string, unknown>;
      } catch {
        return err(400, "BadParameter", "The request body is not valid JSON.");
      }
    }
  }
  const i = c.instance;
  try {
    switch (`${c.method} ${path}`) {
      case "GET /_emulator/info":
        return {
          status: 200,
          body: { name: i.name, kind: i.kind, url: i.url, securityDomainId: i.securityDomain.id, purgeProtection: i.purgeProtection, softDeleteRetentionDays: i.softDeleteRetentionDays, restoreMode: i.restoreMode, activated: i.activated },
        };
      case "GET /_emulator/clock":
        return { status: 200, body: { now: i.clock.now().toISOString(), offsetMs: i.clock.offsetMs } };
      case "POST /_emulator/clock": {
        const ms =
          typeof body["shiftMs"] === "number" ? body["shiftMs"] : typeof body["shiftSeconds"] === "number" ? body["shiftSeconds"] * 1000 : typeof body["shiftDays"] === "number" ? body["shiftDays"] * 86_400_000 : undefined;
        if (ms === undefined || !(ms >= 0)) return err(400, "BadParameter", "Send {\"shiftSeconds\": N} (or shiftDays / shiftMs) with N >= 0; the clock only moves forward.");
        const r = await i.shiftClock(ms);
        return { status: 200, body: { now: r.now.toISOString(), offsetMs: r.offsetMs, rotations: r.rotations } };
      }
      case "GET /_emulator/faults":
        return { status: 200, body: i.faults.config };
      case "PUT /_emulator/faults":
      case "POST /_emulator/faults":
        i.faults.config = parseFaultConfig(body);
        return { status: 200, body: i.faults.config };
      case "DELETE /_emulator/faults":
        i.faults.config = {};
        return { status: 204 };
      case "GET /_emulator/audit": {
        const filter: { operationName?: string; since?: string; oid?: string } = {};
        const op = c.query.get("operationName");
        const since = c.query.get("since");
        const oid = c.query.get("oid");
        if (op !== null) filter.operationName = op;
        if (since !== null) filter.since = since;
        if (oid !== null) filter.oid = oid;
        const format = c.query.get("format") ?? "record";
        const view = AUDIT_VIEWS[format];
        if (view === undefined) return err(400, "BadParameter", `Unknown audit format '${format}'. Use one of: ${Object.keys(AUDIT_VIEWS).join(", ")}.`);
        return { status: 200, body: { value: i.audit.list(filter).map(view) } };
      }
      case "GET /_emulator/caller-ip":
        return { status: 200, body: { loopbackCallerIp: i.audit.loopbackCallerAs ?? null } };
      case "PUT /_emulator/caller-ip": {
        const ip = body["loopbackCallerIp"];
        if (typeof ip !== "string" || isIP(ip) === 0) return err(400, "BadParameter", 'Send {"loopbackCallerIp":"203.0.113.7"}: the IPv4 or IPv6 address the audit log names for loopback callers.');
        i.audit.loopbackCallerAs = ip;
        return { status: 200, body: { loopbackCallerIp: ip } };
      }
      case "DELETE /_emulator/caller-ip":
        i.audit.loopbackCallerAs = undefined;
        return { status: 204 };
      case "GET /_emulator/admin-faults":
        return { status: 200, body: jobFaultsOf(i) };
      case "PUT /_emulator/admin-faults":
        return { status: 200, body: setJobFaults(i, body) };
      case "DELETE /_emulator/admin-faults":
        clearJobFaults(i);
        return { status: 204 };
      case "POST /_emulator/reset":
        await i.reset();
        return { status: 204 };
      default:
        return err(404, "NotFound", `Unknown control endpoint ${c.method} ${path}. Known: /_emulator/info, clock, faults, audit, caller-ip, admin-faults, reset.`);
    }
  } catch (e) {
    return err(400, "BadParameter", (e as Error).message);
  }
}
