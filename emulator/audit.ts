/**
 * Audit log of one instance, shaped like Managed HSM "AuditEvent" resource-log records
 * (time, resourceId, operationName, resultSignature, callerIpAddress, correlationId, identity.claim.oid,
 * properties.requestUri/httpStatusCode). Kept in memory (bounded) and appended to DIR/.../audit.jsonl.
 * Never contains key material or tokens.
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
  identity: { claim: { oid?: string; tid?: string } };
  properties: { requestUri: string; httpStatusCode: number; id?: string; clientInfo?: string };
}

export type AuditInput = Omit<AuditRecord, "category" | "resourceId" | "resultType">;

const MAX_IN_MEMORY = 20_000;

export class AuditLog {
  private records: AuditRecord[] = [];
  private stream: WriteStream | undefined;

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
      callerIpAddress: input.callerIpAddress,
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
    if (this.file !== undefined && existsSync(this.file)) truncateSync(this.file, 0);
  }
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
