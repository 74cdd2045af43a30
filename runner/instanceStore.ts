import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { HistoryEvent } from './historyEvents.js';
import { applyDelta, deltaSince, markOf, type InstanceDelta, type JournalMark } from './journalDelta.js';

export type RuntimeStatus = 'Pending' | 'Running' | 'Completed' | 'Failed' | 'Terminated' | 'ContinuedAsNew';

export const terminalStatuses: ReadonlySet<RuntimeStatus> = new Set(['Completed', 'Failed', 'Terminated']);

/** What listing, filtering and `--once` need of an instance: kept in memory even after it is evicted. */
export interface InstanceStatus {
  instanceId: string;
  name: string;
  executionId: string;
  runtimeStatus: RuntimeStatus;
  createdTime: string;
  lastUpdatedTime: string;
  parent?: { instanceId: string; executionId: string; taskId: number };
}

export interface InstanceRecord extends InstanceStatus {
  /** JSON text of the current execution's input. */
  input: string | null;
  /** JSON text of the output (for Failed: the failure message; for Terminated: the reason). */
  output: string | null;
  customStatus: unknown;
  /** The current execution's committed history. */
  history: HistoryEvent[];
  /** Inbound events (completions, timer firings, external events) not yet given to an episode. */
  inbox: HistoryEvent[];
  /** Set once the parent has been told this instance finished. */
  parentNotified?: boolean;
}

/** One journal line: applied in this order, atomically (a line cut short by a crash is ignored whole). */
interface JournalEntry {
  /** Whole records (new instances, resets, the snapshot a compaction writes). */
  put?: InstanceRecord[];
  /** What a commit appended to or changed in records already in the journal. */
  d?: InstanceDelta[];
  /** Finished instances whose record now lives in `instances/`, out of the journal and out of memory. */
  archived?: InstanceStatus[];
  delete?: string[];
}

/**
 * Instance store. With a state dir, every commit appends ONE line to `journal.jsonl` holding only what changed
 * (new history and inbox events, changed fields), so a commit's cost is what it adds, whatever the instance's size.
 * The line is written before the runner acts on it, so a SIGKILL loses nothing committed (an activity running at
 * that moment runs again: at-least-once, as on Azure). Lines are fsync'd as a group commit: `durable()` resolves
 * once every line written so far is on disk, commits made while one fsync runs share the next one, and the runner
 * awaits it before it tells an HTTP caller a change was accepted. Activities do not wait for it: after a power loss
 * the journal ends at its last complete fsync'd line and work done after it runs again, which at-least-once
 * allows, while waiting would put the disk's fsync latency (milliseconds on a busy machine) on every activity.
 *
 * A finished instance (and, for a sub-orchestration, once its parent was told) is written whole to
 * `instances/<sha256 of id>.json` and evicted from memory; only its status stays in memory, and `get` reads the
 * record from disk. The journal is compacted (rewritten as one snapshot of the running instances and the index of
 * finished ones) on open and whenever what was appended since the last snapshot outgrows the snapshot.
 * Without a state dir everything stays in memory.
 */
export class InstanceStore {
  private readonly live = new Map<string, InstanceRecord>();
  private readonly finished = new Map<string, InstanceStatus>();
  private readonly marks = new Map<string, JournalMark>();
  private fd: number | undefined;
  private readonly file: string | undefined;
  private readonly archiveDir: string | undefined;
  private bytesSinceCompaction = 0;
  private snapshotBytes = 0;
  /** Group commit: lines written, lines known to be on disk, the fsync running now. */
  private written = 0;
  private synced = 0;
  private flushing: Promise<void> | undefined;
  private flushScheduled = false;
  /** An fsync that failed: the disk under the state dir can no longer be trusted, so every later commit throws. */
  private failure: Error | undefined;
  /** Bumped when the journal file is replaced (compaction, close): an fsync of the old file then covers nothing. */
  private generation = 0;
  /** Appending more than this and more than the snapshot's own size triggers a compaction (amortised O(1) per byte). */
  private readonly minCompactionBytes: number;

  constructor(stateDir?: string, options: { minCompactionBytes?: number } = {}) {
    this.minCompactionBytes = options.minCompactionBytes ?? 4 * 1024 * 1024;
    if (!stateDir) return;
    mkdirSync(stateDir, { recursive: true });
    this.file = path.join(stateDir, 'journal.jsonl');
    this.archiveDir = path.join(stateDir, 'instances');
    mkdirSync(this.archiveDir, { recursive: true });
    if (existsSync(this.file)) {
      const { live, finished } = replayJournal(readFileSync(this.file, 'utf8'));
      for (const [id, r] of live) this.live.set(id, r);
      for (const [id, st] of finished) this.finished.set(id, st);
    }
    // Finished before a crash that came between writing the record's file and journaling that it moved.
    const unarchived = [...this.live.values()].filter(isArchivable);
    for (const r of unarchived) writeDurably(archivePath(this.archiveDir, r.instanceId), JSON.stringify(r));
    if (unarchived.length > 0) fsyncDir(this.archiveDir);
    for (const r of unarchived) {
      this.live.delete(r.instanceId);
      this.finished.set(r.instanceId, statusOf(r));
    }
    this.compact();
  }

  /** The instance's record: the live one, or (finished and evicted) a fresh copy read from disk. */
  get(instanceId: string): InstanceRecord | undefined {
    const live = this.live.get(instanceId);
    if (live) return live;
    if (!this.finished.has(instanceId)) return undefined;
    return readArchivedRecord(this.archiveDir as string, instanceId);
  }

  /** The instance's status without reading its history from disk. */
  status(instanceId: string): InstanceStatus | undefined {
    return this.live.get(instanceId) ?? this.finished.get(instanceId);
  }

  /** Instances still in memory: every unfinished one, and finished ones kept (no state dir, or parent not told yet). */
  liveRecords(): InstanceRecord[] {
    return [...this.live.values()];
  }

  statuses(): InstanceStatus[] {
    return [...this.live.values(), ...this.finished.values()];
  }

  /** Journals the given records' changes (one line, written now, fsync'd by the group commit), then makes them visible. */
  commit(...records: InstanceRecord[]): void {
    if (this.failure) throw this.failure;
    const now = new Date().toISOString();
    for (const r of records) r.lastUpdatedTime = now;
    if (this.fd !== undefined) {
      const entry: JournalEntry = {};
      for (const r of records) {
        const delta = deltaSince(this.marks.get(r.instanceId), r);
        if (delta) (entry.d ??= []).push(delta);
        else (entry.put ??= []).push(r);
      }
      this.append(entry);
      for (const r of records) this.marks.set(r.instanceId, markOf(r));
    }
    for (const r of records) {
      this.live.set(r.instanceId, r);
      this.finished.delete(r.instanceId);
    }
    const done = records.filter(isArchivable);
    if (this.fd !== undefined && done.length > 0) this.archive(done);
    this.maybeCompact();
  }

  delete(instanceId: string): boolean {
    if (!this.live.has(instanceId) && !this.finished.has(instanceId)) return false;
    this.append({ delete: [instanceId] });
    if (this.finished.has(instanceId) && this.archiveDir) rmSync(archivePath(this.archiveDir, instanceId), { force: true });
    this.live.delete(instanceId);
    this.finished.delete(instanceId);
    this.marks.delete(instanceId);
    this.maybeCompact();
    return true;
  }

  /** Resolves once every commit made so far is on disk (at once without a state dir or when nothing is pending). */
  durable(): Promise<void> {
    if (this.fd === undefined || this.synced >= this.written) return Promise.resolve();
    if (this.flushing) return this.flushing.then(() => this.durable());
    const fd = this.fd;
    const target = this.written;
    const generation = this.generation;
    this.flushing = new Promise<void>((resolve, reject) => {
      fsync(fd, (err) => {
        this.flushing = undefined;
        // A compaction or close replaced the file meanwhile, and synced everything up to then itself.
        if (generation !== this.generation) return resolve();
        if (err) {
          this.failure = new Error(`Cannot fsync the runner journal ${this.file}: ${err.message}. The disk under --state-dir failed; nothing more is committed.`);
          return reject(this.failure);
        }
        this.synced = Math.max(this.synced, target);
        this.maybeCompact();
        resolve();
      });
    });
    return this.flushing;
  }

  close(): void {
    this.closeJournal();
  }

  private closeJournal(): void {
    if (this.fd === undefined) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = undefined;
    this.synced = this.written;
    this.generation++;
  }

  /** Writes finished records whole to their own files (fsync'd), then journals that they moved, then evicts them. */
  private archive(records: InstanceRecord[]): void {
    const dir = this.archiveDir as string;
    for (const r of records) writeDurably(archivePath(dir, r.instanceId), JSON.stringify(r));
    fsyncDir(dir);
    const statuses = records.map(statusOf);
    this.append({ archived: statuses });
    for (const s of statuses) {
      this.live.delete(s.instanceId);
      this.marks.delete(s.instanceId);
      this.finished.set(s.instanceId, s);
    }
  }

  private append(entry: JournalEntry): void {
    if (this.fd === undefined) return;
    const line = JSON.stringify(entry) + '\n';
    writeSync(this.fd, line);
    this.written++;
    this.bytesSinceCompaction += Buffer.byteLength(line);
    if (!this.flushScheduled) {
      // Group commit in the background: every line written during this turn shares one fsync.
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.durable().catch(() => undefined); // recorded in `failure`: the next commit throws it
      });
    }
  }

  /** Called after the in-memory state includes the last commit, so the snapshot is complete. */
  private maybeCompact(): void {
    if (this.fd === undefined || this.flushing) return; // after the running fsync (it calls back here)
    if (this.bytesSinceCompaction <= Math.max(this.minCompactionBytes, this.snapshotBytes)) return;
    this.closeJournal();
    this.compact();
  }

  private compact(): void {
    const file = this.file as string;
    const lines: string[] = [];
    if (this.finished.size > 0) lines.push(JSON.stringify({ archived: [...this.finished.values()] } satisfies JournalEntry));
    if (this.live.size > 0) lines.push(JSON.stringify({ put: [...this.live.values()] } satisfies JournalEntry));
    const text = lines.map((l) => l + '\n').join('');
    writeDurably(file, text);
    fsyncDir(path.dirname(file));
    this.snapshotBytes = Buffer.byteLength(text);
    this.bytesSinceCompaction = 0;
    this.marks.clear();
    for (const r of this.live.values()) this.marks.set(r.instanceId, markOf(r));
    this.fd = openSync(file, 'a');
  }
}

/**
 * Reads a journal as the store does on open: the running instances' records and the finished instances' statuses
 * (their records are in `instances/`, see `readArchivedRecord`). Also for tests that inspect what a crash left.
 */
export function replayJournal(text: string): { live: Map<string, InstanceRecord>; finished: Map<string, InstanceStatus> } {
  const live = new Map<string, InstanceRecord>();
  const finished = new Map<string, InstanceStatus>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let entry: JournalEntry;
    try {
      entry = JSON.parse(line) as JournalEntry;
    } catch {
      // Cut short by a crash. Nothing after it was fsync'd either (an fsync covers every earlier line), and applying
      // later deltas without it would corrupt the records: the journal ends here.
      break;
    }
    for (const r of entry.put ?? []) {
      live.set(r.instanceId, r);
      finished.delete(r.instanceId);
    }
    for (const d of entry.d ?? []) {
      const r = live.get(d.id);
      if (r) applyDelta(r, d);
    }
    for (const st of entry.archived ?? []) {
      live.delete(st.instanceId);
      finished.set(st.instanceId, st);
    }
    for (const id of entry.delete ?? []) {
      live.delete(id);
      finished.delete(id);
    }
  }
  return { live, finished };
}

/** Finished, and (for a sub-orchestration) its parent was told: nothing will change it again. */
function isArchivable(r: InstanceRecord): boolean {
  return terminalStatuses.has(r.runtimeStatus) && (!r.parent || r.parentNotified === true);
}

/** Reads an evicted instance's record from the state dir (the runner's own store, and tests reading a crash). */
export function readArchivedRecord(archiveDir: string, instanceId: string): InstanceRecord | undefined {
  const file = archivePath(archiveDir, instanceId);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as InstanceRecord;
}

function archivePath(dir: string, instanceId: string): string {
  // Instance ids may hold characters and lengths no file name allows.
  return path.join(dir, `${createHash('sha256').update(instanceId).digest('hex')}.json`);
}

function statusOf(r: InstanceRecord): InstanceStatus {
  const s: InstanceStatus = { instanceId: r.instanceId, name: r.name, executionId: r.executionId, runtimeStatus: r.runtimeStatus, createdTime: r.createdTime, lastUpdatedTime: r.lastUpdatedTime };
  if (r.parent) s.parent = r.parent;
  return s;
}

/** Replaces `file` with `text` atomically: a reader (or a restart) sees the old content or the new, never half. */
function writeDurably(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
