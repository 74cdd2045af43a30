/**
 * Audit log of one instance, shaped like Managed HSM "AuditEvent" resource-log records
 * (time, resourceId, operationName, resultSignature, callerIpAddress, correlationId, identity.claim,
 * properties.requestUri/httpStatusCode/clientInfo/id). Kept in memory (bounded) and appended to DIR/.../audit.jsonl.
 * The shapes Azure Monitor delivers (storage/Event Hubs record, AzureDiagnostics row, AZKVAuditLogs row) are
 * views of this record: emulator/auditlog/. Never contains key material or tokens.
 */
import { closeSync, createWriteStream, existsSync, openSync, readSync, statSync, truncateSync, type WriteStream } from "node:fs";

export interface AuditRecord {
  time: string;
  resourceId: string;
  operationName: string;
  operationVersion: string;
  category: "AuditEvent";
  resultType: "Success" | "Failure";
  resultSignature: string;
  resultDescription?: string;
  durationMs: number;
  callerIpAddress: string;
  correlationId: string;
  identity: { claim: AuditClaims };
  properties: { requestUri: string; httpStatusCode: number; id?: string; clientInfo?: string };
}

/**
 * The caller's token claims the service logs: oid and tid, appid (the calling application), upn (users only), and
 * the object id again under its long claim name, as Managed HSM logs it (the column Sentinel's Key Vault rules read).
 */
export interface AuditClaims {
  oid?: string;
  tid?: string;
  appid?: string;
  upn?: string;
  "http://schemas.microsoft.com/identity/claims/objectidentifier"?: string;
  "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"?: string;
}

/** The claims to log from a verified token (only string claims; nothing else of the token is kept). */
export function auditClaims(token: Record<string, unknown>): AuditClaims {
  const text = (name: string): string | undefined => (typeof token[name] === "string" && token[name] !== "" ? (token[name] as string) : undefined);
  const out: AuditClaims = {};
  const oid = text("oid");
  const tid = text("tid");
  const appid = text("appid");
  const upn = text("upn");
  if (oid !== undefined) {
    out.oid = oid;
    out["http://schemas.microsoft.com/identity/claims/objectidentifier"] = oid;
  }
  if (tid !== undefined) out.tid = tid;
  if (appid !== undefined) out.appid = appid;
  if (upn !== undefined) {
    out.upn = upn;
    out["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"] = upn;
  }
  return out;
}

export type AuditInput = Omit<AuditRecord, "category" | "resourceId" | "resultType">;

const MAX_IN_MEMORY = 20_000;

export class AuditLog {
  private records: AuditRecord[] = [];
  private stream: WriteStream | undefined;
  /**
   * The public address loopback callers are logged with (PUT /_emulator/caller-ip). Azure never sees a client's
   * loopback or private address, and detections (threat-intelligence matches) skip private ones, so tests name the
   * address the service would have seen. Only the audit record changes; control endpoints still check the socket.
   */
  loopbackCallerAs: string | undefined;

  constructor(
    private readonly resourceId: string,
    private readonly file: string | undefined,
  ) {
    if (file !== undefined && existsSync(file)) this.records = readTail(file);
  }

  /** Flushes and closes the audit file (the in-memory log stays readable). */
  close(): Promise<void> {
    const s = this.stream;
    this.stream = undefined;
    return s === undefined ? Promise.resolve() : new Promise((r) => s.end(r));
  }

  record(input: AuditInput): AuditRecord {
    const rec: AuditRecord = {
      time: input.time,
      resourceId: this.resourceId,
      operationName: input.operationName,
      operationVersion: input.operationVersion,
      category: "AuditEvent",
      resultType: input.properties.httpStatusCode < 400 ? "Success" : "Failure",
      resultSignature: input.resultSignature,
      ...(input.resultDescription !== undefined ? { resultDescription: input.resultDescription } : {}),
      durationMs: input.durationMs,
      callerIpAddress: this.loopbackCallerAs !== undefined && isLoopback(input.callerIpAddress) ? this.loopbackCallerAs : input.callerIpAddress,
      correlationId: input.correlationId,
      identity: input.identity,
      properties: input.properties,
    };
    this.records.push(rec);
    if (this.records.length > MAX_IN_MEMORY) this.records.splice(0, this.records.length - MAX_IN_MEMORY);
    // Best effort, buffered by the stream (one open file, not one open per request): the audit file is
    // diagnostic, so a failed write must not fail the request.
    if (this.file !== undefined) {
      if (this.stream === undefined) {
        this.stream = createWriteStream(this.file, { flags: "a", mode: 0o600 });
        this.stream.on("error", () => (this.stream = undefined));
      }
      this.stream.write(JSON.stringify(rec) + "\n");
    }
    return rec;
  }

  list(filter: { operationName?: string; since?: string; oid?: string } = {}): AuditRecord[] {
    return this.records.filter(
      (r) =>
        (filter.operationName === undefined || r.operationName === filter.operationName) &&
        (filter.since === undefined || r.time >= filter.since) &&
        (filter.oid === undefined || r.identity.claim.oid === filter.oid),
    );
  }

  clear(): void {
    this.records = [];
    this.loopbackCallerAs = undefined;
    if (this.file !== undefined && existsSync(this.file)) truncateSync(this.file, 0);
  }
}

function isLoopback(ip: string): boolean {
  return ip === "::1" || ip.startsWith("127.");
}

/** Reloads the newest records after a restart (reads at most the last 16 MB; a torn last line is skipped). */
function readTail(file: string): AuditRecord[] {
  const size = statSync(file).size;
  const length = Math.min(size, 16 * 1024 * 1024);
  const buf = Buffer.alloc(length);
  const fd = openSync(file, "r");
  try {
    readSync(fd, buf, 0, length, size - length);
  } finally {
    closeSync(fd);
  }
  const out: AuditRecord[] = [];
  for (const line of buf.toString("utf8").split("\n")) {
    if (line === "") continue;
    try {
      out.push(JSON.parse(line) as AuditRecord);
    } catch {
      // partial first line of the tail window, or a line torn by SIGKILL
    }
  }
  return out.slice(-MAX_IN_MEMORY);
}
