/**
 * Attack: HSM_TLS_CA_FILE used to switch on emulator behaviour for every host — the SDK's challenge-resource
 * check off for all admin clients, and the drill interlock reading the emulator's unauthenticated
 * `/_emulator/info` self-report. An attacker-controlled HSM URL (a look-alike host serving a certificate the
 * added CA trusts) would then get Managed HSM tokens and could report itself as any HSM.
 *
 * Now the CA only adds trust. Emulator behaviour needs HSM_EMULATOR=true, which the settings allow for loopback
 * instances only, and the clients apply it per URL to loopback hosts only. The attacker's host here is
 * `evil.managedhsm.localhost` (covered by the emulator's certificate, resolved to 127.0.0.1 for this test only,
 * not a loopback NAME), answering Key Vault's 401 challenge for `https://managedhsm.azure.net`.
 * Real SDK clients built by the app's own composition roots; no stack needed.
 */
import dns from "node:dns";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { AccessToken, TokenCredential } from "@azure/core-auth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSettings } from "../../shared/config/settings";
import { createDrillDeps } from "../../shared/drill/activities/depsFromSettings";
import { createKeyClients } from "../../shared/hsm/keyClients";
import { KeyVaultBackupClient } from "../../shared/hsm/keyVaultBackupClient";
import { createRotationDeps } from "../../shared/rotation/activities/depsFromSettings";
import { listDueKeys } from "../../shared/rotation/activities/listDueKeys";
import { startTestEmulator, type TestEmulator } from "../support/emulator";
import { startTokenTrap, type TokenTrap } from "./tokenTrap";
import { TEST_MANIFEST_KEY } from "../support/manifestKey";

const EVIL = "evil.managedhsm.localhost";
let emu: TestEmulator;
let trap: TokenTrap;
let evilUrl: string;
const originalLookup = dns.lookup;

/** A credential that records every token request (a refused challenge must not even ask for one). */
function recordingCredential(): TokenCredential & { requested: string[] } {
  const requested: string[] = [];
  return {
    requested,
    getToken: async (scopes): Promise<AccessToken> => {
      requested.push(([] as string[]).concat(scopes).join(" "));
      return { token: "stolen-if-you-see-this", expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };
}

const baseEnv = (extra: Record<string, string>): NodeJS.ProcessEnv => ({
  STORAGE_CONNECTION_STRING: "UseDevelopmentStorage=true",
  LIFECYCLE_TOPIC_ENDPOINT: "https://127.0.0.1:1/api/events",
  BACKUP_MANIFEST_KEY: TEST_MANIFEST_KEY,
  HSM_TLS_CA_FILE: join(emu.stateDir, "ca.pem"),
  ...extra,
});

beforeAll(async () => {
  emu = await startTestEmulator({ hsms: ["primary"] });
  const tls = join(emu.stateDir, "tls");
  trap = await startTokenTrap({ cert: readFileSync(join(tls, "server.pem"), "utf8"), key: readFileSync(join(tls, "server-key.pem"), "utf8") });
  evilUrl = `https://${EVIL}:${new URL(trap.url).port}`;
  // Resolve the attacker's name to the trap for this test process only (as DNS would for the attacker's host).
  (dns as { lookup: unknown }).lookup = (host: string, options: unknown, callback?: unknown): void => {
    const cb = (typeof options === "function" ? options : callback) as (...a: unknown[]) => void;
    const all = typeof options === "object" && options !== null && (options as { all?: boolean }).all === true;
    if (host !== EVIL) return void (originalLookup as (...a: unknown[]) => void)(host, options, callback);
    if (all) cb(null, [{ address: "127.0.0.1", family: 4 }]);
    else cb(null, "127.0.0.1", 4);
  };
}, 60_000);

afterAll(async () => {
  (dns as { lookup: unknown }).lookup = originalLookup;
  await trap?.close();
  await emu?.close();
});

describe("emulator behaviour only in emulator mode, only for loopback hosts", () => {
  it("HSM_EMULATOR=true with a non-loopback HSM is a settings error; HSM_TLS_CA_FILE alone does not turn emulator mode on", () => {
    expect(() => loadSettings(baseEnv({ HSMS: `primary=${evilUrl}`, HSM_EMULATOR: "true" }))).toThrow(/HSM_EMULATOR is true but HSMS "primary" is not on a loopback address/);
    expect(loadSettings(baseEnv({ HSMS: `primary=${evilUrl}` })).emulatorMode).toBe(false);
  });

  it("with HSM_TLS_CA_FILE set, the rotation identity's key client keeps the challenge check: no token is even requested", async () => {
    trap.reset();
    const credential = recordingCredential();
    const deps = createRotationDeps(loadSettings(baseEnv({ HSMS: `primary=${evilUrl}` })), credential);
    const failure = await listDueKeys({ instance: { name: "primary", kind: "managedHsm" }, policy: { version: 1, rules: [] } as never }, deps).catch((e: unknown) => e as Error);
    console.info(`rotation client against ${evilUrl}: ${(failure as Error).message}`);
    expect((failure as Error).message).toMatch(/challenge resource 'managedhsm\.azure\.net' does not match the requested domain/);
    expect(credential.requested).toEqual([]);
    expect(trap.tokens()).toEqual([]);
  });

  it("even clients told emulator mode keep the check for a non-loopback host (key client and admin client)", async () => {
    trap.reset();
    const credential = recordingCredential();
    const keys = createKeyClients(credential, { ca: emu.ca, emulatorMode: true, retryOptions: { maxRetries: 0 } }).keys(evilUrl);
    const keyFailure = await keys.getKey("k").catch((e: unknown) => e as Error);
    const admin = new KeyVaultBackupClient(evilUrl, credential, { tlsOptions: { ca: emu.ca }, disableChallengeResourceVerification: true, retryOptions: { maxRetries: 0 } });
    const adminFailure = await admin.beginPreBackup("https://127.0.0.1:1/c", "sas").catch((e: unknown) => e as Error);
    console.info(`key client: ${(keyFailure as Error).message} | admin client: ${(adminFailure as Error).message}`);
    expect((keyFailure as Error).message).toMatch(/does not match the requested domain/);
    expect((adminFailure as Error).message).toMatch(/does not match the requested domain/);
    expect(credential.requested).toEqual([]);
    expect(trap.tokens()).toEqual([]);
  });

  it("control: in emulator mode a LOOPBACK host does get a token (the relaxation is real, and that narrow)", async () => {
    trap.reset();
    const credential = recordingCredential();
    const keys = createKeyClients(credential, { ca: emu.ca, emulatorMode: true, retryOptions: { maxRetries: 0 } }).keys(trap.url);
    await keys.getKey("k").catch(() => undefined);
    expect(credential.requested.length).toBeGreaterThan(0);
    expect(trap.tokens().length).toBeGreaterThan(0);
  });

  it("with HSM_TLS_CA_FILE set, the drill interlock does not read the emulator's self-report", async () => {
    trap.reset();
    const credential = recordingCredential();
    // Even on a loopback URL: without emulator mode the self-report is never asked for.
    const drill = createDrillDeps(loadSettings(baseEnv({ HSMS: `primary=${emu.url("primary")},dr=${trap.url}`, DRILL_PAIRS: "primary=dr" })), credential);
    expect(drill.adminOptions.disableChallengeResourceVerification).toBeUndefined();
    const refused = await drill.identityOf({ name: "dr", url: trap.url }).catch((e: unknown) => e as Error);
    console.info(`identity of ${trap.url} without emulator mode: ${(refused as Error).message}`);
    expect((refused as Error).message).toMatch(/HSM_RESOURCE_IDS has no ARM resource id/);
    expect(await drill.identityOf({ name: "primary", url: emu.url("primary") }).catch((e: unknown) => (e as Error).message)).toMatch(/HSM_RESOURCE_IDS has no ARM resource id/);
    // In emulator mode, a non-loopback host's self-report is refused too.
    const emulatorDrill = createDrillDeps(loadSettings(baseEnv({ HSMS: `primary=${emu.url("primary")},dr=${trap.url}`, DRILL_PAIRS: "primary=dr", HSM_EMULATOR: "true" })), credential);
    expect(await emulatorDrill.identityOf({ name: "dr", url: evilUrl }).catch((e: unknown) => (e as Error).message)).toMatch(/not a loopback host; the emulator's unauthenticated self-report is never trusted/);
    expect(trap.requests.filter((r) => r.path.startsWith("/_emulator/"))).toEqual([]);
  });
});
