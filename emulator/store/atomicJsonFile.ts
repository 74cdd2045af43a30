/**
 * Atomic, coalescing JSON persistence for one file.
 *
 * Why: state must survive SIGKILL at any instant and concurrent requests must never interleave writes.
 * Each save writes a temp file, fsyncs it and renames it over the target (rename is atomic on POSIX),
 * so a reader only ever sees the old or the new complete file. Saves are serialized; callers that
 * request a save while one is running share the NEXT write, which serializes the state as it is then,
 * so every caller's mutation is on disk when its promise resolves.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { replaceFileDurablySync } from "./replaceFileDurably";

export class AtomicJsonFile<T> {
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  constructor(
    readonly path: string,
    private readonly serialize: () => T,
  ) {
    mkdirSync(dirname(path), { recursive: true });
  }

  exists(): boolean {
    return existsSync(this.path);
  }

  read(): T | undefined {
    if (!existsSync(this.path)) return undefined;
    const text = readFileSync(this.path, "utf8");
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      throw new Error(`State file ${this.path} is not valid JSON (${(e as Error).message}). Restore it from a copy or delete it to start empty.`);
    }
  }

  /** Resolves once a write that started after this call has reached the disk. */
  save(): Promise<void> {
    if (this.queued !== undefined) return this.queued;
    if (this.running === undefined) {
      this.running = this.writeNow().finally(() => (this.running = undefined));
      return this.running;
    }
    const after = this.running;
    this.queued = after
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        this.running = this.writeNow().finally(() => (this.running = undefined));
        return this.running;
      });
    return this.queued;
  }

  private async writeNow(): Promise<void> {
    // Serialize synchronously so the file reflects the state at this instant.
    replaceFileDurablySync(this.path, JSON.stringify(this.serialize()));
  }
}
