/**
 * The backup e2e stack: real Azurite (child), the emulator in-process (HSM `primary`, topic `lifecycle`,
 * the managed identity endpoint), and the offline runner with THIS app (`dist/functions/*.js`; build first).
 * The app runs as the backup workflow's user-assigned identity with least privilege: Managed HSM Backup User
 * + Crypto Auditor at "/" — nothing else.
 *
 * Used until dev/localStack.ts lands; it builds the same pieces the local stack does.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { DurableClient } from "durable-functions";
import type { ContainerClient } from "@azure/storage-blob";
import { startAzurite, type AzuriteBlob } from "../support/azurite";
import { ADMIN_OID, startTestEmulator, type RawResponse, type TestEmulator } from "../support/emulator";
import { startRunner, type Runner } from "../../runner/index";
import { durableClientFor } from "../runner/durableClientFor";
import { KeyVaultAccessControlClient } from "../../shared/hsm/keyVaultAccessControlClient";
import { KnownManagedHsmRoleDefinitionIds } from "../../shared/hsm/keyVaultAccessControlClientModels";

export const BACKUP_IDENTITY = "0b0b0b0b-0000-4000-8000-0000000bac01";
export const BACKUP_CONTAINER = "hsm-backups";
export const AUDIT_CONTAINER = "lifecycle-audit";

/**
 * A TCP gate in front of Azurite: the HSM and the app reach storage only through it.
 * - `cut()` closes the port and drops open connections (ECONNREFUSED: storage unreachable) while Azurite
 *   keeps its data, so a test can check afterwards that older backups are untouched; `open()` listens on
 *   the same port again.
 * - `hold()` keeps accepting connections but forwards nothing (bytes are queued) until `release()`: a
 *   backup job stays InProgress for exactly as long as a test wants. (Freezing Azurite with SIGSTOP for
 *   more than a few seconds left the HSM's storage call hanging for good, so holding is done here.)
 */
export interface StorageGate {
  port: number;
  cut(): Promise<void>;
  open(): Promise<void>;
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

export async function startStorageGate(targetPort: number): Promise<StorageGate> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  let held = false;
  const queued: Array<() => void> = [];
  const forward = (from: Socket, to: Socket): void => {
    from.on("data", (chunk: Buffer) => {
      if (held) queued.push(() => to.write(chunk));
      else to.write(chunk);
    });
    from.on("end", () => (held ? queued.push(() => to.end()) : to.end()));
  };
  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = connect(targetPort, "127.0.0.1");
        for (const sock of [client, upstream]) {
          sockets.add(sock);
          sock.on("close", () => {
            sockets.delete(sock);
            (sock === client ? upstream : client).destroy();
          });
          sock.on("error", () => undefined);
        }
        forward(client, upstream);
        forward(upstream, client);
      });
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => {
        port = (s.address() as { port: number }).port;
        server = s;
        resolve();
      });
    });
  const cut = async (): Promise<void> => {
    const s = server;
    server = undefined;
    for (const sock of sockets) sock.destroy();
    if (s !== undefined) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  const release = (): void => {
    held = false;
    for (const send of queued.splice(0)) send();
  };
  await listen();
  return {
    port,
    cut,
    open: listen,
    hold: () => {
      held = true;
    },
    release,
    close: async () => {
      release();
      await cut();
    },
  };
}

export interface BackupStack {
  azurite: AzuriteBlob;
  /** Storage as the HSM and the app see it. */
  gate: StorageGate;
  emu: TestEmulator;
  runner: Runner;
  hsmUrl: string;
  backups(): ContainerClient;
  audit(): ContainerClient;
  /** A durable client on the runner (what the timer gets), for driving the starter with a simulated night. */
  durableClient(): DurableClient;
  control(method: string, path: string, body?: unknown): Promise<RawResponse>;
  close(): Promise<void>;
}

export interface BackupStackOptions {
  clock: "virtual" | "real";
  /** Extra app settings (Values). */
  settings?: Record<string, string>;
  /** The function app root (default: this repository, seen from test/e2e). */
  appDir?: string;
}

export async function startBackupStack(options: BackupStackOptions): Promise<BackupStack> {
  const dir = mkdtempSync(path.join(tmpdir(), "backup-e2e-"));
  const azurite = await startAzurite();
  const gate = await startStorageGate(azurite.port);
  // The HSM and the app reach Azurite through the gate (same account, same data).
  const connectionString = azurite.connectionString.replace(`127.0.0.1:${azurite.port}/`, `127.0.0.1:${gate.port}/`);
  let emu: TestEmulator | undefined;
  let runner: Runner | undefined;
  try {
    await azurite.blobServiceClient().createContainer(BACKUP_CONTAINER);
    emu = await startTestEmulator({
      hsms: ["primary"],
      blobConnectionString: connectionString,
      topics: [{ name: "lifecycle", port: 0 }],
      identity: { port: 0, clientIds: [BACKUP_IDENTITY] },
      tickIntervalMs: 60_000,
    });
    const hsmUrl = emu.url("primary");
    const rbac = new KeyVaultAccessControlClient(hsmUrl, emu.credential(ADMIN_OID), emu.clientOptions());
    await rbac.createRoleAssignment("/", randomUUID(), KnownManagedHsmRoleDefinitionIds.Backup, BACKUP_IDENTITY);
    await rbac.createRoleAssignment("/", randomUUID(), KnownManagedHsmRoleDefinitionIds.CryptoAuditor, BACKUP_IDENTITY);
    const keys = emu.keyClient("primary");
    await keys.createRsaKey("payments-signer", { tags: { owner: "payments" } });
    await keys.createEcKey("api-ec", { curve: "P-256" });

    const ready = emu.emulator.readyLine();
    const topic = ready.instances["lifecycle"] as unknown as { endpoint: string; keyFile: string } | undefined;
    const identity = emu.emulator.identity;
    if (topic === undefined || identity === undefined) throw new Error("the emulator did not start the lifecycle topic or the identity endpoint");
    const settingsFile = path.join(dir, "local.settings.json");
    const values: Record<string, string> = {
      HSMS: `primary=${hsmUrl}`,
      STORAGE_CONNECTION_STRING: connectionString,
      BACKUP_CONTAINER,
      AUDIT_CONTAINER,
      LIFECYCLE_TOPIC_ENDPOINT: topic.endpoint,
      LIFECYCLE_TOPIC_KEY: readFileSync(topic.keyFile, "utf8").trim(),
      HSM_TLS_CA_FILE: emu.emulator.caFile,
      BACKUP_IDENTITY_CLIENT_ID: BACKUP_IDENTITY,
      IDENTITY_ENDPOINT: identity.endpoint,
      IDENTITY_HEADER: identity.header,
      POLLER_INTERVAL_MS: "200",
      ...options.settings,
    };
    writeFileSync(settingsFile, JSON.stringify({ IsEncrypted: false, Values: values }));
    runner = await startRunner({ appDir: options.appDir ?? path.resolve(__dirname, "../.."), settingsFile, stateDir: path.join(dir, "runner"), clock: options.clock, scheduleTimers: false, port: 0, log: false });
    const r = runner;
    const e = emu;
    return {
      azurite,
      gate,
      emu,
      runner,
      hsmUrl,
      backups: () => azurite.blobServiceClient().getContainerClient(BACKUP_CONTAINER),
      audit: () => azurite.blobServiceClient().getContainerClient(AUDIT_CONTAINER),
      durableClient: () => durableClientFor(r.durableClientData),
      control: (method, p, body) => e.control("primary", method, p, body),
      close: async () => {
        await r.close();
        await e.close();
        await gate.close();
        await azurite.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await runner?.close().catch(() => undefined);
    await emu?.close().catch(() => undefined);
    await gate.close();
    await azurite.stop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Every blob name under a prefix, sorted. */
export async function blobNames(container: ContainerClient, prefix = ""): Promise<string[]> {
  const names: string[] = [];
  for await (const b of container.listBlobsFlat({ prefix })) names.push(b.name);
  return names.sort();
}
