import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { HistoryEvent } from './historyEvents.js';

export type RuntimeStatus = 'Pending' | 'Running' | 'Completed' | 'Failed' | 'Terminated' | 'ContinuedAsNew';

export const terminalStatuses: ReadonlySet<RuntimeStatus> = new Set(['Completed', 'Failed', 'Terminated']);

export interface InstanceRecord {
  instanceId: string;
  name: string;
  executionId: string;
  /** JSON text of the current execution's input. */
  input: string | null;
  /** JSON text of the output (for Failed: the failure message; for Terminated: the reason). */
  output: string | null;
  customStatus: unknown;
  runtimeStatus: RuntimeStatus;
  createdTime: string;
  lastUpdatedTime: string;
  /** The current execution's committed history. */
  history: HistoryEvent[];
  /** Inbound events (completions, timer firings, external events) not yet given to an episode. */
  inbox: HistoryEvent[];
  parent?: { instanceId: string; executionId: string; taskId: number };
  /** Set once the parent has been told this instance finished. */
  parentNotified?: boolean;
}

/**
 * Instance store. With a state dir every commit is one JSON line appended to `journal.jsonl` and fsync'd
 * before the runner acts on it, so a SIGKILL loses at most work that had not been committed yet (an
 * activity running at that moment runs again: at-least-once, as on Azure). A truncated last line from a
 * crash is ignored; the journal is compacted on open.
 */
export class InstanceStore {
  private readonly instances = new Map<string, InstanceRecord>();
  private fd: number | undefined;
  private readonly file: string | undefined;
  private bytesSinceCompaction = 0;
  /** Every commit rewrites the whole record, so the journal is compacted once this much was appended. */
  private static readonly compactAfterBytes = 64 * 1024 * 1024;

  constructor(stateDir?: string) {
    if (!stateDir) return;
    mkdirSync(stateDir, { recursive: true });
    this.file = path.join(stateDir, 'journal.jsonl');
    if (existsSync(this.file)) this.load(readFileSync(this.file, 'utf8'));
    this.compact();
  }

  get(instanceId: string): InstanceRecord | undefined {
    return this.instances.get(instanceId);
  }

  all(): InstanceRecord[] {
    return [...this.instances.values()];
  }

  /** Makes the given records durable (one atomic journal line), then visible. */
  commit(...records: InstanceRecord[]): void {
    const now = new Date().toISOString();
    for (const r of records) r.lastUpdatedTime = now;
    this.append({ put: records });
    for (const r of records) this.instances.set(r.instanceId, r);
    this.maybeCompact();
  }

  delete(instanceId: string): boolean {
    if (!this.instances.has(instanceId)) return false;
    this.append({ delete: [instanceId] });
    this.instances.delete(instanceId);
    this.maybeCompact();
    return true;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private append(entry: unknown): void {
    if (this.fd === undefined) return;
    const line = JSON.stringify(entry) + '\n';
    writeSync(this.fd, line);
    fsyncSync(this.fd);
    this.bytesSinceCompaction += Buffer.byteLength(line);
  }

  /** Called after the in-memory state includes the last commit, so the snapshot is complete. */
  private maybeCompact(): void {
    if (this.fd === undefined || this.bytesSinceCompaction <= InstanceStore.compactAfterBytes) return;
    closeSync(this.fd);
    this.compact();
  }

  private load(text: string): void {
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      let entry: { put?: InstanceRecord[]; delete?: string[] };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        continue; // the last line of a journal cut short by a crash
      }
      for (const r of entry.put ?? []) this.instances.set(r.instanceId, r);
      for (const id of entry.delete ?? []) this.instances.delete(id);
    }
  }

  private compact(): void {
    const file = this.file as string;
    const tmp = `${file}.tmp`;
    this.bytesSinceCompaction = 0;
    const fd = openSync(tmp, 'w');
    const records = this.all();
    if (records.length > 0) writeSync(fd, JSON.stringify({ put: records }) + '\n');
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, file);
    this.fd = openSync(file, 'a');
  }
}
