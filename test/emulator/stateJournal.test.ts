// The emulator's snapshot + append-only journal: group commit, torn last records, damage, compaction, migration.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StateJournal, type JournaledState } from "../../emulator/store/stateJournal";
import { JournalDamagedError } from "../../emulator/store/journalLog";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "state-journal-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A live state the way Instance keeps it: collections of entries plus small meta. */
class Live {
  meta: Record<string, unknown> = { owner: "test" };
  items: Record<string, unknown> = {};
  readonly journal: StateJournal;
  constructor(options: { compactMinBytes?: number } = {}) {
    this.journal = new StateJournal({ dir, collections: ["items"], legacyFile: "state.json", ...options });
    const loaded = this.journal.load();
    if (loaded.state !== undefined) {
      this.meta = loaded.state.meta;
      this.items = loaded.state.collections["items"] ?? {};
    }
    this.journal.attach({ meta: () => this.meta, collection: () => this.items });
  }
  put(key: string, value: unknown): void {
    this.items[key] = value;
    this.journal.touch("items", key);
  }
  remove(key: string): void {
    delete this.items[key];
    this.journal.touch("items", key);
  }
}

function reload(): JournaledState | undefined {
  return new StateJournal({ dir, collections: ["items"], legacyFile: "state.json" }).load().state;
}

describe("StateJournal", () => {
  it("group-commits concurrent commits into one append and replays them", async () => {
    const live = new Live();
    const commits: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      live.put(`k${i}`, { n: i });
      commits.push(live.journal.commit());
    }
    await Promise.all(commits);
    expect(live.journal.stats.appends).toBe(1);
    live.remove("k7");
    live.meta = { owner: "changed" };
    await live.journal.commit();
    expect(live.journal.stats.appends).toBe(2);
    const state = reload();
    expect(Object.keys(state?.collections["items"] ?? {})).toHaveLength(49);
    expect(state?.collections["items"]?.["k7"]).toBeUndefined();
    expect(state?.collections["items"]?.["k49"]).toEqual({ n: 49 });
    expect(state?.meta).toEqual({ owner: "changed" });
    await live.journal.close();
  });

  it("appends only what changed: the bytes of one write do not grow with the number of entries", async () => {
    const live = new Live();
    const journalFile = join(dir, "journal-0.log");
    const sizeOfOneWrite = async (key: string): Promise<number> => {
      const before = existsSync(journalFile) ? statSync(journalFile).size : 0;
      live.put(key, { payload: "x".repeat(200) });
      await live.journal.commit();
      return statSync(journalFile).size - before;
    };
    await sizeOfOneWrite("warm-up"); // the first write also records meta
    const small = await sizeOfOneWrite("a-0");
    for (let i = 0; i < 2000; i++) live.put(`bulk-${i}`, { payload: "x".repeat(200) });
    await live.journal.commit();
    const large = await sizeOfOneWrite("a-1");
    expect(large).toBe(small);
    await live.journal.close();
  });

  it("drops a torn last record (no newline) and keeps appending after it", async () => {
    const live = new Live();
    live.put("acked", 1);
    await live.journal.commit();
    await live.journal.close();
    const journalFile = join(dir, "journal-0.log");
    const goodSize = statSync(journalFile).size;
    appendFileSync(journalFile, '1234abcd [{"op":"put","c":"items","k":"torn","v":'); // a write cut by the crash

    const again = new Live();
    expect(again.items).toEqual({ acked: 1 });
    expect(statSync(journalFile).size).toBe(goodSize);
    again.put("after", 2);
    await again.journal.commit();
    await again.journal.close();
    expect(reload()?.collections["items"]).toEqual({ acked: 1, after: 2 });
  });

  it("drops a last line whose checksum fails, but refuses a damaged record that has valid records after it", async () => {
    const live = new Live();
    live.put("a", 1);
    await live.journal.commit();
    live.put("b", 2);
    await live.journal.commit();
    await live.journal.close();
    const journalFile = join(dir, "journal-0.log");
    const original = readFileSync(journalFile, "utf8");
    const lines = original.split("\n");

    // Last line damaged (complete, with newline): a torn write; "b" was never acknowledged in this story.
    writeFileSync(journalFile, `${lines[0]}\n${lines[1]!.replace('"v":2', '"v":3')}\n`);
    const loaded = new StateJournal({ dir, collections: ["items"] }).load();
    expect(loaded.droppedTornBytes).toBeGreaterThan(0);
    expect(loaded.state?.collections["items"]).toEqual({ a: 1 });

    // First line damaged, second valid: not a crash artefact. Loading fails, names the file, changes nothing.
    const damaged = `${lines[0]!.replace('"v":1', '"v":9')}\n${lines[1]}\n`;
    writeFileSync(journalFile, damaged);
    expect(() => new StateJournal({ dir, collections: ["items"] }).load()).toThrow(JournalDamagedError);
    expect(() => new StateJournal({ dir, collections: ["items"] }).load()).toThrow(/journal-0\.log is damaged at byte 0.*Restore the state dir/);
    expect(readFileSync(journalFile, "utf8")).toBe(damaged);
  });

  it("compacts into a new snapshot generation once the journal outgrows the snapshot, and replays across it", async () => {
    const live = new Live({ compactMinBytes: 4096 });
    for (let i = 0; i < 200; i++) {
      live.put(`k${i % 20}`, { i, pad: "y".repeat(100) });
      await live.journal.commit();
    }
    live.remove("k3");
    await live.journal.commit();
    await live.journal.close();
    expect(live.journal.stats.snapshots).toBeGreaterThan(0);
    const files = readdirSync(dir).sort();
    expect(files.filter((f) => f.startsWith("journal-"))).toHaveLength(1);
    expect(files).toContain("snapshot.json");
    expect(files.some((f) => f.includes(".tmp-"))).toBe(false);
    const state = reload();
    expect(Object.keys(state?.collections["items"] ?? {})).toHaveLength(19);
    expect(state?.collections["items"]?.["k19"]).toEqual({ i: 199, pad: "y".repeat(100) });
  });

  it("writes a whole snapshot after rewriteAll (reset, full restore)", async () => {
    const live = new Live();
    live.put("old", 1);
    await live.journal.commit();
    live.items = { fresh: 2 };
    live.journal.rewriteAll();
    await live.journal.commit();
    await live.journal.close();
    expect(live.journal.stats.snapshots).toBe(1);
    expect(reload()?.collections["items"]).toEqual({ fresh: 2 });
  });

  it("migrates a legacy whole-state file to a snapshot and removes it", async () => {
    writeFileSync(join(dir, "state.json"), JSON.stringify({ format: "old/1", owner: "legacy", items: { a: { n: 1 } } }));
    const live = new Live();
    expect(live.items).toEqual({ a: { n: 1 } });
    expect(live.meta).toEqual({ format: "old/1", owner: "legacy" });
    expect(existsSync(join(dir, "state.json"))).toBe(false);
    expect(JSON.parse(readFileSync(join(dir, "snapshot.json"), "utf8"))).toMatchObject({ format: "hsm-emulator-state-snapshot/1", generation: 1 });
    live.put("b", 2);
    await live.journal.commit();
    await live.journal.close();
    expect(reload()?.collections["items"]).toEqual({ a: { n: 1 }, b: 2 });
  });
});
