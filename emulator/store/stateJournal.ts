/**
 * Durable state of one instance as a snapshot plus an append-only journal, so that the cost of a write
 * depends on what changed, not on how much state there is.
 *
 * The state is seen as named collections of entries (keys, deleted keys: one journal record per changed
 * entry) plus "meta" (everything else, small: RBAC, clock offset, …), recorded whole when its JSON changed.
 *
 * Files in `dir`:
 * - `snapshot.json`  `{"format":"hsm-emulator-state-snapshot/1","generation":G,"meta":{…},"collections":{…}}`,
 *   replaced atomically (temp file, fsync, rename, fsync of the directory);
 * - `journal-G.log`  batches committed after snapshot G (journalLog.ts), appended and fdatasync'd.
 * Loading reads the snapshot and replays its journal; journals of other generations are leftovers of an
 * interrupted compaction and are removed. A legacy whole-state file (`legacyFile`) is migrated on load.
 *
 * Group commit: commit() calls made while a write is on the disk share the next write (one append, one
 * fdatasync); a caller's promise resolves once a write that started after its call is durable.
 * Compaction: when the journal outgrows both `compactMinBytes` and the last snapshot, the next write is a
 * new snapshot, so compaction costs at most about half a byte per journal byte (amortised constant).
 */
import { existsSync, readdirSync, readFileSync, truncateSync, unlinkSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { decodeJournal, encodeJournalLine, journalOpText, type JournalOp } from "./journalLog";
import { fsyncDirectory, replaceFileDurably, replaceFileDurablySync } from "./replaceFileDurably";

export const SNAPSHOT_FORMAT = "hsm-emulator-state-snapshot/1";
const SNAPSHOT_FILE = "snapshot.json";
const JOURNAL = /^journal-(\d+)\.log$/;

export interface JournaledState {
  meta: Record<string, unknown>;
  collections: Record<string, Record<string, unknown>>;
}

export interface StateJournalSource {
  /** The current meta (everything outside the collections). */
  meta(): Record<string, unknown>;
  /** The current entries of one collection (the live object; the journal only reads it). */
  collection(name: string): Record<string, unknown>;
}

export interface StateJournalOptions {
  dir: string;
  collections: readonly string[];
  /** A whole-state JSON file of an older format in `dir`: migrated to a snapshot on load, then removed. */
  legacyFile?: string;
  /** Compact once the journal is larger than this and than the last snapshot (default 8 MiB). */
  compactMinBytes?: number;
  log?: (line: string) => void;
}

export interface LoadResult {
  state: JournaledState | undefined;
  /** Set when a torn last record (an unacknowledged write cut by a crash) was dropped. */
  droppedTornBytes: number;
  migratedLegacy: boolean;
}

interface Waiters {
  promise: Promise<void>;
  resolve(): void;
  reject(e: unknown): void;
}

export class StateJournal {
  private source: StateJournalSource | undefined;
  private generation = 0;
  private journalBytes = 0;
  private snapshotBytes = 0;
  private handle: FileHandle | undefined;
  private readonly dirty = new Map<string, Set<string>>();
  private lastMetaJson = "";
  private rewriteAllPending = false;
  private chain: Promise<void> = Promise.resolve();
  private pending: Waiters | undefined;
  private readonly compactMinBytes: number;
  /** Counters for tests and benches: appends (one fdatasync each) and snapshots written. */
  readonly stats = { appends: 0, snapshots: 0 };

  constructor(private readonly options: StateJournalOptions) {
    this.compactMinBytes = options.compactMinBytes ?? 8 * 1024 * 1024;
    for (const c of options.collections) this.dirty.set(c, new Set());
  }

  private path(name: string): string {
    return join(this.options.dir, name);
  }

  private journalName(generation: number): string {
    return `journal-${generation}.log`;
  }

  /** Reads the persisted state (snapshot + journal, or a legacy file), dropping a torn last record. */
  load(): LoadResult {
    const result: LoadResult = { state: undefined, droppedTornBytes: 0, migratedLegacy: false };
    const snapshotPath = this.path(SNAPSHOT_FILE);
    const legacyPath = this.options.legacyFile !== undefined ? this.path(this.options.legacyFile) : undefined;
    if (existsSync(snapshotPath)) {
      result.state = this.readSnapshot(snapshotPath);
      if (legacyPath !== undefined && existsSync(legacyPath)) unlinkSync(legacyPath); // a migration finished just before a crash
    } else if (legacyPath !== undefined && existsSync(legacyPath)) {
      result.state = this.readLegacy(legacyPath);
      // Write the new layout before removing the old file: a crash in between leaves both, and the snapshot wins.
      this.writeSnapshotSync(result.state, 1);
      unlinkSync(legacyPath);
      result.migratedLegacy = true;
    }
    // Without a snapshot yet, generation 0 is the empty state and its journal holds everything written so far.
    const journalPath = this.path(this.journalName(this.generation));
    if (existsSync(journalPath)) {
      const data = readFileSync(journalPath);
      const decoded = decodeJournal(data, journalPath);
      if (decoded.batches.length > 0) result.state ??= this.withAllCollections({}, {});
      for (const batch of decoded.batches) this.apply(result.state as JournaledState, batch);
      if (decoded.tornBytes > 0) {
        // The torn record was never acknowledged (its fdatasync did not return); cut it so appends continue cleanly.
        truncateSync(journalPath, decoded.goodBytes);
        result.droppedTornBytes = decoded.tornBytes;
      }
      this.journalBytes = decoded.goodBytes;
    }
    this.removeStaleFiles();
    if (result.state !== undefined) this.lastMetaJson = JSON.stringify(result.state.meta);
    return result;
  }

  private readSnapshot(snapshotPath: string): JournaledState {
    const text = readFileSync(snapshotPath, "utf8");
    let parsed: { format?: unknown; generation?: unknown; meta?: unknown; collections?: unknown };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch (e) {
      throw new Error(`Snapshot ${snapshotPath} is not valid JSON (${(e as Error).message}). Restore the state dir from a copy, or delete the instance's folder to start empty.`);
    }
    if (parsed.format !== SNAPSHOT_FORMAT || typeof parsed.generation !== "number" || typeof parsed.meta !== "object" || typeof parsed.collections !== "object") {
      throw new Error(`Snapshot ${snapshotPath} has an unknown format (${String(parsed.format)}); this emulator reads ${SNAPSHOT_FORMAT}. Use the emulator version that wrote it, or delete the instance's folder to start empty.`);
    }
    this.generation = parsed.generation;
    this.snapshotBytes = Buffer.byteLength(text);
    return this.withAllCollections(parsed.meta as Record<string, unknown>, parsed.collections as Record<string, Record<string, unknown>>);
  }

  /** The whole-state file of the previous format: collections by name, everything else is meta. */
  private readLegacy(legacyPath: string): JournaledState {
    const text = readFileSync(legacyPath, "utf8");
    let legacy: Record<string, unknown>;
    try {
      legacy = JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`State file ${legacyPath} is not valid JSON (${(e as Error).message}). Restore it from a copy or delete it to start empty.`);
    }
    const meta: Record<string, unknown> = {};
    const collections: Record<string, Record<string, unknown>> = {};
    for (const [k, v] of Object.entries(legacy)) {
      if (this.options.collections.includes(k)) collections[k] = (v ?? {}) as Record<string, unknown>;
      else meta[k] = v;
    }
    return this.withAllCollections(meta, collections);
  }

  private withAllCollections(meta: Record<string, unknown>, collections: Record<string, Record<string, unknown>>): JournaledState {
    const all: Record<string, Record<string, unknown>> = {};
    for (const c of this.options.collections) all[c] = collections[c] ?? {};
    return { meta, collections: all };
  }

  private apply(state: JournaledState, batch: JournalOp[]): void {
    for (const op of batch) {
      if (op.op === "meta") state.meta = op.v;
      else {
        const collection = (state.collections[op.c] ??= {});
        if (op.op === "put") collection[op.k] = op.v;
        else delete collection[op.k];
      }
    }
  }

  private removeStaleFiles(): void {
    for (const name of readdirSync(this.options.dir)) {
      const m = JOURNAL.exec(name);
      if ((m !== null && Number(m[1]) !== this.generation) || name.startsWith(`${SNAPSHOT_FILE}.tmp-`)) unlinkSync(this.path(name));
    }
  }

  /** Starts tracking `source` (after load, once the live state exists). */
  attach(source: StateJournalSource): void {
    this.source = source;
  }

  /** Records that an entry changed (or was removed); it is written by the next commit. */
  touch(collection: string, key: string): void {
    const set = this.dirty.get(collection);
    if (set === undefined) throw new Error(`StateJournal: unknown collection "${collection}".`);
    set.add(key);
  }

  /** The state was replaced wholesale (reset, full restore): the next commit writes a new snapshot. */
  rewriteAll(): void {
    this.rewriteAllPending = true;
  }

  /** Resolves when every change made before this call is durable. */
  commit(): Promise<void> {
    if (this.pending !== undefined) return this.pending.promise;
    let resolve!: () => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<void>((ok, fail) => {
      resolve = ok;
      reject = fail;
    });
    const waiters: Waiters = { promise, resolve, reject };
    this.pending = waiters;
    this.chain = this.chain.then(() => this.flush(waiters));
    return promise;
  }

  private async flush(waiters: Waiters): Promise<void> {
    // Changes made from here on belong to the next batch.
    this.pending = undefined;
    try {
      if (this.rewriteAllPending) await this.compact();
      else await this.appendChanges();
      waiters.resolve();
    } catch (e) {
      waiters.reject(e);
      return;
    }
    if (this.journalBytes > Math.max(this.compactMinBytes, this.snapshotBytes)) {
      await this.compact().catch((e: unknown) => this.options.log?.(`state journal: compaction failed, will retry: ${(e as Error).message}`));
    }
  }

  private async appendChanges(): Promise<void> {
    const source = this.requireSource();
    const ops: string[] = [];
    const metaJson = JSON.stringify(source.meta());
    if (metaJson !== this.lastMetaJson) ops.push(journalOpText.meta(metaJson));
    const taken: [string, string[]][] = [];
    for (const [collection, keys] of this.dirty) {
      if (keys.size === 0) continue;
      const entries = source.collection(collection);
      const names = [...keys];
      keys.clear();
      taken.push([collection, names]);
      for (const key of names) {
        const value = Object.hasOwn(entries, key) ? entries[key] : undefined;
        ops.push(value === undefined ? journalOpText.del(collection, key) : journalOpText.put(collection, key, JSON.stringify(value)));
      }
    }
    if (ops.length === 0) return;
    const line = encodeJournalLine(ops);
    const bytes = Buffer.byteLength(line);
    try {
      const handle = await this.journalHandle();
      await handle.writeFile(line);
      await handle.datasync();
    } catch (e) {
      // Not durable: cut any partial line and keep the changes for the next commit.
      for (const [collection, names] of taken) for (const n of names) this.touch(collection, n);
      await this.handle?.truncate(this.journalBytes).catch(() => undefined);
      throw e;
    }
    this.journalBytes += bytes;
    this.lastMetaJson = metaJson;
    this.stats.appends++;
  }

  private async journalHandle(): Promise<FileHandle> {
    if (this.handle !== undefined) return this.handle;
    const path = this.path(this.journalName(this.generation));
    const created = !existsSync(path);
    this.handle = await open(path, "a", 0o600);
    if (created) fsyncDirectory(this.options.dir); // the new file's name must survive a crash too
    return this.handle;
  }

  /** Writes the whole state as snapshot generation+1 and starts a new, empty journal. */
  private async compact(): Promise<void> {
    const source = this.requireSource();
    const state = this.capture(source);
    const next = this.generation + 1;
    const text = this.snapshotText(state, next);
    try {
      await replaceFileDurably(this.path(SNAPSHOT_FILE), text);
    } catch (e) {
      // The dirty marks were consumed by capture(): only a complete snapshot can stand for them now.
      this.rewriteAllPending = true;
      throw e;
    }
    const oldHandle = this.handle;
    const oldJournal = this.path(this.journalName(this.generation));
    this.handle = undefined;
    this.generation = next;
    this.journalBytes = 0;
    this.snapshotBytes = Buffer.byteLength(text);
    this.lastMetaJson = JSON.stringify(state.meta);
    this.stats.snapshots++;
    await oldHandle?.close();
    if (existsSync(oldJournal)) unlinkSync(oldJournal);
  }

  /** Takes the live state for a snapshot: everything marked dirty until now is included. */
  private capture(source: StateJournalSource): JournaledState {
    this.rewriteAllPending = false;
    for (const keys of this.dirty.values()) keys.clear();
    const collections: Record<string, Record<string, unknown>> = {};
    for (const c of this.options.collections) collections[c] = source.collection(c);
    return { meta: source.meta(), collections };
  }

  private snapshotText(state: JournaledState, generation: number): string {
    return JSON.stringify({ format: SNAPSHOT_FORMAT, generation, meta: state.meta, collections: state.collections });
  }

  private writeSnapshotSync(state: JournaledState, generation: number): void {
    const text = this.snapshotText(state, generation);
    replaceFileDurablySync(this.path(SNAPSHOT_FILE), text);
    this.generation = generation;
    this.snapshotBytes = Buffer.byteLength(text);
    this.journalBytes = 0;
  }

  private requireSource(): StateJournalSource {
    if (this.source === undefined) throw new Error("StateJournal: attach() the live state before committing.");
    return this.source;
  }

  /** Waits for pending writes and closes the journal file. */
  async close(): Promise<void> {
    await this.commit();
    await this.chain;
    await this.handle?.close();
    this.handle = undefined;
  }
}
