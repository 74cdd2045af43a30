// The emulator as a child process: ready line, CLI contract, and persistence across SIGKILL (every acknowledged
// write survives kill -9 in the middle of concurrent writes; a torn last journal record is dropped safely).
// Needs dist/ (npm test builds first).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { appendFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { KeyClient } from "@azure/keyvault-keys";
import type { AccessToken, TokenCredential } from "@azure/core-auth";
import { EmulatorCredential } from "../../emulator/index";
import { ADMIN_OID, clientOptionsFor, rawHttpsRequest, spawnEmulatorProcess, type EmulatorProcess } from "../support/emulator";

const run = promisify(execFile);
const MAIN = resolve(__dirname, "../../dist/emulator/main.js");
let dir: string;
const children: EmulatorProcess[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "hsm-emu-restart-"));
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

/** A credential that asks the CLI `token` subcommand for tokens, as a script would. */
function cliCredential(stateDir: string, oid: string): TokenCredential {
  return {
    getToken: async (scopes): Promise<AccessToken> => {
      const aud = (Array.isArray(scopes) ? scopes[0]! : scopes).includes("vault.azure.net") ? "vault" : "managedhsm";
      const { stdout } = await run(process.execPath, [MAIN, "token", "--state-dir", stateDir, "--oid", oid, "--audience", aud]);
      return { token: stdout.trim(), expiresOnTimestamp: Date.now() + 3_000_000 };
    },
  };
}

describe("emulator process", () => {
  it("rejects unknown flags with exit code 2 and a clear message", async () => {
    const r = await run(process.execPath, [MAIN, "--no-such-flag"]).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(r?.code).toBe(2);
    expect(r?.stderr).toContain('Unknown argument "--no-such-flag"');
  });

  it("keeps keys, versions, deleted keys, policies and RBAC across SIGKILL and restart", async () => {
    const args = ["--state-dir", dir, "--hsm", "primary=0", "--vault", "v1=0", "--admin", ADMIN_OID];
    const first = await spawnEmulatorProcess(args);
    children.push(first);
    expect(first.ready.event).toBe("ready");
    expect(first.ready.caFile).toBe(join(dir, "ca.pem"));
    expect(first.ready.tokenSecretFile).toBe(join(dir, "token-secret"));
    expect(first.ready.instances["primary"]).toEqual({ kind: "managedHsm", url: expect.stringMatching(/^https:\/\/127\.0\.0\.1:\d+$/) });
    expect(first.ready.instances["v1"]?.kind).toBe("vault");
    const ca = readFileSync(first.ready.caFile, "utf8");

    const hsm = new KeyClient(first.ready.instances["primary"]!.url, cliCredential(dir, ADMIN_OID), clientOptionsFor(ca));
    const k = await hsm.createRsaKey("durable");
    const k2 = await hsm.createRsaKey("durable");
    await hsm.updateKeyRotationPolicy("durable", { expiresIn: "P60D", lifetimeActions: [{ action: "Rotate", timeAfterCreate: "P30D" }] });
    await hsm.createEcKey("trash");
    await (await hsm.beginDeleteKey("trash", { intervalInMs: 10 })).pollUntilDone();
    // Concurrent writes: every acknowledged one must survive the kill.
    const burst = await Promise.all(Array.from({ length: 12 }, (_, i) => hsm.createEcKey(`burst-${i}`)));
    const grant = await rawHttpsRequest(ca, `${first.ready.instances["primary"]!.url}///providers/Microsoft.Authorization/roleAssignments/4a1b2c3d-0000-4000-8000-00000000abcd?api-version=2025-07-01`, "PUT", {
      headers: { authorization: `Bearer ${(await cliCredential(dir, ADMIN_OID).getToken("https://managedhsm.azure.net/.default"))!.token}` },
      body: { properties: { roleDefinitionId: "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/2c18b078-7c48-4d3a-af88-5a3a1b3f82b3", principalId: "auditor-1" } },
    });
    expect(grant.status).toBe(201);
    const vault = new KeyClient(first.ready.instances["v1"]!.url, cliCredential(dir, ADMIN_OID), clientOptionsFor(ca));
    await vault.createRsaKey("vault-key");

    first.kill("SIGKILL");
    await first.exited;

    const second = await spawnEmulatorProcess(args);
    children.push(second);
    expect(readFileSync(second.ready.caFile, "utf8")).toBe(ca); // same CA: clients keep trusting it
    const hsm2 = new KeyClient(second.ready.instances["primary"]!.url, cliCredential(dir, ADMIN_OID), clientOptionsFor(ca));
    const latest = await hsm2.getKey("durable");
    expect(latest.properties.version).toBe(k2.properties.version);
    expect(Buffer.from(latest.key!.n!).equals(Buffer.from(k2.key!.n!))).toBe(true);
    const old = await hsm2.getKey("durable", { version: k.properties.version! });
    expect(old.properties.version).toBe(k.properties.version);
    expect((await hsm2.getKeyRotationPolicy("durable")).expiresIn).toBe("P60D");
    expect((await hsm2.getDeletedKey("trash")).name).toBe("trash");
    for (const b of burst) expect((await hsm2.getKey(b.name)).properties.version).toBe(b.properties.version);
    // The private key survived too: a signature made now verifies against the public key from before the kill.
    const digest = createHash("sha256").update("after restart").digest();
    const signed = await hsm2.getCryptographyClient("durable").sign("RS256", digest);
    const { createPublicKey, verify } = await import("node:crypto");
    const pub = createPublicKey({ key: { kty: "RSA", n: Buffer.from(k2.key!.n!).toString("base64url"), e: "AQAB" }, format: "jwk" });
    expect(verify("sha256", Buffer.from("after restart"), pub, Buffer.from(signed.result))).toBe(true);
    // RBAC persisted: the auditor can read but not sign.
    const auditorHsm = new KeyClient(second.ready.instances["primary"]!.url, cliCredential(dir, "auditor-1"), clientOptionsFor(ca));
    expect((await auditorHsm.getKey("durable")).name).toBe("durable");
    // The audit log survives the restart too.
    const audit = await rawHttpsRequest(ca, `${second.ready.instances["primary"]!.url}/_emulator/audit?operationName=KeyCreate`, "GET");
    expect(audit.body.value.length).toBeGreaterThanOrEqual(15);
    const vault2 = new KeyClient(second.ready.instances["v1"]!.url, cliCredential(dir, ADMIN_OID), clientOptionsFor(ca));
    expect((await vault2.getKey("vault-key")).name).toBe("vault-key");

    second.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  });
});

async function startWithClient(stateDir: string): Promise<{ emu: EmulatorProcess; client: KeyClient }> {
  const emu = await spawnEmulatorProcess(["--state-dir", stateDir, "--hsm", "primary=0", "--admin", ADMIN_OID]);
  children.push(emu);
  const client = new KeyClient(emu.ready.instances["primary"]!.url, new EmulatorCredential(emu.ready.tokenSecretFile, ADMIN_OID), clientOptionsFor(readFileSync(emu.ready.caFile, "utf8")));
  return { emu, client };
}

describe("journal durability under kill -9", () => {
  it("keeps every acknowledged key after SIGKILL in the middle of concurrent writes, and survives a torn last record", async () => {
    const stateDir = join(dir, "crash");
    const start = (): Promise<{ emu: EmulatorProcess; client: KeyClient }> => startWithClient(stateDir);
    const first = await start();
    const acknowledged = new Map<string, string>();
    const KILL_AFTER = 120;
    let next = 0;
    let killed = false;
    let inFlight = 0;
    let inFlightAtKill = 0;
    // 16 writers in flight; the process is killed from inside the callback of the 120th acknowledgement, so
    // other creates are on the wire or in the journal's group commit at that moment.
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (!killed) {
          const name = `crash-${next++}`;
          inFlight++;
          try {
            const key = await first.client.createEcKey(name, { curve: "P-256" });
            if (killed) continue; // arrived after the kill: the client cannot tell, so it does not count
            acknowledged.set(name, key.properties.version!);
            if (acknowledged.size === KILL_AFTER) {
              killed = true;
              inFlightAtKill = inFlight - 1; // every other writer is awaiting its create at this moment
              first.emu.kill("SIGKILL");
            }
          } catch {
            if (!killed) throw new Error(`create ${name} failed before the kill`);
          } finally {
            inFlight--;
          }
        }
      }),
    );
    await first.emu.exited;
    expect(acknowledged.size).toBe(KILL_AFTER);
    // Requests really were in flight when the process died (whether their answers had left it is up to the race).
    expect(inFlightAtKill).toBeGreaterThan(0);

    const second = await start();
    for (const [name, version] of acknowledged) expect((await second.client.getKey(name)).properties.version).toBe(version);
    second.emu.kill("SIGKILL");
    await second.emu.exited;

    // A crash in the middle of an append leaves a partial last line: it was never acknowledged and must be dropped.
    const instanceDir = join(stateDir, "instances", "primary");
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
