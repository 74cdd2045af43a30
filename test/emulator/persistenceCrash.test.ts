// Durability of the emulator's journal under kill -9: every create the SDK saw acknowledged is there after a
// restart, and a torn last record (a write cut by a crash) is dropped without losing anything acknowledged.
// Runs the real CLI (dist/emulator/main.js; `npm run build` first).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KeyClient } from "@azure/keyvault-keys";
import { EmulatorCredential } from "../../emulator/index";
import { ADMIN_OID, clientOptionsFor, spawnEmulatorProcess, type EmulatorProcess } from "../support/emulator";

let dir: string;
const children: EmulatorProcess[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "hsm-emu-crash-"));
});
afterAll(async () => {
  for (const c of children) {
    if (c.child.exitCode === null && c.child.signalCode === null) {
      c.kill("SIGKILL");
      await c.exited;
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

async function start(): Promise<{ emu: EmulatorProcess; client: KeyClient }> {
  const emu = await spawnEmulatorProcess(["--state-dir", dir, "--hsm", "primary=0", "--admin", ADMIN_OID]);
  children.push(emu);
  const client = new KeyClient(emu.ready.instances["primary"]!.url, new EmulatorCredential(emu.ready.tokenSecretFile, ADMIN_OID), clientOptionsFor(readFileSync(emu.ready.caFile, "utf8")));
  return { emu, client };
}

describe("journal durability under kill -9", () => {
  it("keeps every acknowledged key after SIGKILL in the middle of concurrent writes, and survives a torn last record", async () => {
    const first = await start();
    const acknowledged = new Map<string, string>();
    const KILL_AFTER = 120;
    let next = 0;
    let killed = false;
    let failedAfterKill = 0;
    // 16 writers in flight; the process is killed from inside the callback of the 120th acknowledgement, so
    // other creates are on the wire or in the journal's group commit at that moment.
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (!killed) {
          const name = `crash-${next++}`;
          try {
            const key = await first.client.createEcKey(name, { curve: "P-256" });
            if (killed) continue; // arrived after the kill: the client cannot tell, so it does not count
            acknowledged.set(name, key.properties.version!);
            if (acknowledged.size === KILL_AFTER) {
              killed = true;
              first.emu.kill("SIGKILL");
            }
          } catch {
            if (!killed) throw new Error(`create ${name} failed before the kill`);
            failedAfterKill++;
          }
        }
      }),
    );
    await first.emu.exited;
    expect(acknowledged.size).toBe(KILL_AFTER);
    expect(failedAfterKill).toBeGreaterThan(0); // requests really were in flight when the process died

    const second = await start();
    for (const [name, version] of acknowledged) expect((await second.client.getKey(name)).properties.version).toBe(version);
    second.emu.kill("SIGKILL");
    await second.emu.exited;

    // A crash in the middle of an append leaves a partial last line; it was never acknowledged and must be dropped.
    const instanceDir = join(dir, "instances", "primary");
    const journal = readdirSync(instanceDir).find((f) => /^journal-\d+\.log$/.test(f));
    expect(journal).toBeDefined();
    appendFileSync(join(instanceDir, journal!), '0badc0de [{"op":"put","c":"keys","k":"torn","v":{"name":"to');

    const third = await start();
    for (const [name, version] of acknowledged) expect((await third.client.getKey(name)).properties.version).toBe(version);
    expect(third.emu.stderr()).toMatch(/dropped a torn last journal record/);
    await expect(third.client.getKey("torn")).rejects.toMatchObject({ statusCode: 404 });
    const afterTorn = await third.client.createEcKey("after-torn");
    third.emu.kill("SIGKILL");
    await third.emu.exited;

    const fourth = await start();
    expect((await fourth.client.getKey("after-torn")).properties.version).toBe(afterTorn.properties.version);
    fourth.emu.kill("SIGTERM");
    expect(await fourth.emu.exited).toBe(0);
  });
});
