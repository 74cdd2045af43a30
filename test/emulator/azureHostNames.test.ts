/**
 * `--azure-host-names`: the instances' leaf certificate also covers *.managedhsm.azure.net and
 * *.vault.azure.net — only with the flag, and only for clients that trust the emulator's own CA.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { Agent } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { KeyClient } from "@azure/keyvault-keys";
import { afterAll, describe, expect, it } from "vitest";
import { parseCli, UsageError } from "../../emulator/options";
import { startTestEmulator, type TestEmulator } from "../support/emulator";

/** Completes a TLS handshake to 127.0.0.1:port as `servername`; resolves "ok" or the verification error code. */
function handshake(port: number, servername: string, ca: string | undefined): Promise<string> {
  return new Promise((resolvePromise) => {
    const socket = connect({ host: "127.0.0.1", port, servername, ...(ca !== undefined ? { ca } : {}) });
    socket.once("secureConnect", () => {
      socket.end();
      resolvePromise("ok");
    });
    socket.once("error", (e: NodeJS.ErrnoException) => {
      socket.destroy();
      resolvePromise(e.code ?? e.message);
    });
  });
}

const toLoopback = ((_host: string, opts: { all?: boolean }, cb: (...a: unknown[]) => void) =>
  opts?.all ? cb(null, [{ address: "127.0.0.1", family: 4 }]) : cb(null, "127.0.0.1", 4)) as never;

describe("--azure-host-names", () => {
  const stateDir = mkdtempSync(join(tmpdir(), "hsm-azure-names-"));
  const running: TestEmulator[] = [];
  afterAll(async () => {
    for (const e of running) await e.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("is a flag without a value", () => {
    expect(parseCli(["--hsm", "p=0", "--azure-host-names"]).options.azureHostNames).toBe(true);
    expect(parseCli(["--hsm", "p=0"]).options.azureHostNames).toBeUndefined();
    expect(() => parseCli(["--azure-host-names=yes"])).toThrow(UsageError);
  });

  it("without the flag the certificate does not cover Azure host names, even for a client trusting the CA", async () => {
    const emu = await startTestEmulator({ stateDir, keepStateDir: true, hsms: ["primary"], vaults: ["app"] });
    running.push(emu);
    const port = Number(new URL(emu.url("primary")).port);
    expect(await handshake(port, "primary.managedhsm.localhost", emu.ca)).toBe("ok");
    expect(await handshake(port, "primary.managedhsm.azure.net", emu.ca)).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
    expect(await handshake(port, "app.vault.azure.net", emu.ca)).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
    await emu.close();
    running.pop();
  });

  it("with the flag (same state dir, same CA) it does, trusted only through the emulator CA; a KeyClient keeps challenge verification on", async () => {
    const emu = await startTestEmulator({ stateDir, keepStateDir: true, hsms: ["primary"], vaults: ["app"], azureHostNames: true });
    running.push(emu);
    const hsmPort = Number(new URL(emu.url("primary")).port);
    const vaultPort = Number(new URL(emu.url("app")).port);
    expect(await handshake(hsmPort, "primary.managedhsm.azure.net", emu.ca)).toBe("ok");
    expect(await handshake(vaultPort, "app.vault.azure.net", emu.ca)).toBe("ok");
    expect(await handshake(hsmPort, "primary.managedhsm.localhost", emu.ca)).toBe("ok");
    // Not a name the certificate claims, and never trusted without the emulator's CA.
    expect(await handshake(hsmPort, "login.microsoftonline.com", emu.ca)).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
    expect(await handshake(hsmPort, "primary.managedhsm.azure.net", undefined)).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER_CERT/);

    // A hosts entry is simulated by the agent's lookup; the SDK's challenge-resource check stays ON, because
    // the real resource (https://managedhsm.azure.net) matches the real host name.
    const agent = new Agent({ ca: emu.ca, lookup: toLoopback });
    try {
      const client = new KeyClient(`https://primary.managedhsm.azure.net:${hsmPort}`, emu.credential(), { agent, retryOptions: { maxRetries: 0 } });
      const key = await client.createEcKey("real-host-name", { curve: "P-256" });
      expect(key.id).toMatch(new RegExp(`^https://primary\\.managedhsm\\.azure\\.net:${hsmPort}/keys/real-host-name/`));
    } finally {
      agent.destroy();
    }
  });
});
