/**
 * Starts the real Azurite Blob service (the npm devDependency) as a child process for a test file.
 *
 *   const azurite = await startAzurite();          // in beforeAll
 *   const blob = azurite.blobServiceClient();      // or azurite.connectionString
 *   const sas = azurite.containerSas("backups", "crdw");
 *   await azurite.stop();                          // in afterAll: kills the child, leaves no process
 *
 * It listens on an ephemeral port (`--blobPort 0`; the bound port is read from Azurite's stdout), keeps data in
 * memory by default, and uses Azurite's well-known development account, so any `@azure/storage-blob` client
 * built from `connectionString` (or a SAS from `containerSas`) talks to it over plain HTTP on 127.0.0.1.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import {
  BlobServiceClient,
  ContainerSASPermissions,
  generateBlobSASQueryParameters,
  StorageSharedKeyCredential,
} from "@azure/storage-blob";

/** Azurite's fixed development account (public, documented by Microsoft; not a secret). */
export const AZURITE_ACCOUNT_NAME = "devstoreaccount1";
export const AZURITE_ACCOUNT_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export interface AzuriteOptions {
  /** Workspace folder; when omitted Azurite keeps everything in memory (`--inMemoryPersistence`). */
  location?: string;
  /** Milliseconds to wait for Azurite to report that it listens (default 30 s: the machine is shared). */
  startTimeoutMs?: number;
}

export interface AzuriteBlob {
  /** e.g. `http://127.0.0.1:41234/devstoreaccount1` */
  readonly blobEndpoint: string;
  readonly port: number;
  /** `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=…;BlobEndpoint=…;` */
  readonly connectionString: string;
  readonly credential: StorageSharedKeyCredential;
  blobServiceClient(): BlobServiceClient;
  /** Container URL without a query string, e.g. `http://127.0.0.1:41234/devstoreaccount1/backups`. */
  containerUrl(container: string): string;
  /**
   * A container SAS (query string without the leading `?`) with exactly the given permissions
   * (letters from `racwdl…`), valid from 5 minutes ago to `hoursValid` hours from now.
   */
  containerSas(container: string, permissions: string, hoursValid?: number): string;
  /**
   * Freezes the Azurite process (SIGSTOP) so storage calls hang until `resume()`: a deterministic way to hold
   * a backup/restore job mid-flight. Always resume before `stop()` (stop also resumes).
   */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

const LISTEN_LINE = /successfully listens on (https?:\/\/[^\s]+)/;

function azuriteBlobMain(): string {
  // Resolve through the package so a hoisted or nested install both work.
  const require = createRequire(__filename);
  const pkg = require.resolve("azurite/package.json");
  return path.join(path.dirname(pkg), "dist", "src", "blob", "main.js");
}

export async function startAzurite(options: AzuriteOptions = {}): Promise<AzuriteBlob> {
  const args = [
    azuriteBlobMain(),
    "--blobHost",
    "127.0.0.1",
    "--blobPort",
    "0",
    "--disableTelemetry",
    "--skipApiVersionCheck",
    "--loose",
    "--silent",
  ];
  if (options.location) {
    args.push("--location", options.location);
  } else {
    args.push("--inMemoryPersistence");
  }
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  const port = await waitForListen(child, options.startTimeoutMs ?? 30_000);
  const blobEndpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT_NAME}`;
  const connectionString =
    `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT_NAME};` +
    `AccountKey=${AZURITE_ACCOUNT_KEY};BlobEndpoint=${blobEndpoint};`;
  const credential = new StorageSharedKeyCredential(AZURITE_ACCOUNT_NAME, AZURITE_ACCOUNT_KEY);
  let stopped: Promise<void> | undefined;

  return {
    blobEndpoint,
    port,
    connectionString,
    credential,
    blobServiceClient: () => BlobServiceClient.fromConnectionString(connectionString),
    containerUrl: (container) => `${blobEndpoint}/${container}`,
    containerSas: (container, permissions, hoursValid = 24) =>
      generateBlobSASQueryParameters(
        {
          containerName: container,
          permissions: ContainerSASPermissions.parse(permissions),
          startsOn: new Date(Date.now() - 5 * 60_000),
          expiresOn: new Date(Date.now() + hoursValid * 3_600_000),
        },
        credential,
      ).toString(),
    pause: () => {
      child.kill("SIGSTOP");
    },
    resume: () => {
      child.kill("SIGCONT");
    },
    stop: () => (stopped ??= stopChild(child)),
  };
}

function waitForListen(child: ChildProcess, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => {
      fail(new Error(`Azurite did not report a listening port within ${timeoutMs} ms. Output so far:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString("utf8");
      const match = LISTEN_LINE.exec(output);
      if (match?.[1]) {
        cleanup();
        resolve(Number(new URL(match[1]).port));
      }
    };
    const onExit = (code: number | null): void => {
      fail(new Error(`Azurite exited (code ${code}) before listening. Output:\n${output}`));
    };
    function cleanup(): void {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.stderr?.off("data", onData);
      child.off("exit", onExit);
      // Keep draining the pipes so Azurite never blocks on a full stdout buffer.
      child.stdout?.resume();
      child.stderr?.resume();
    }
    function fail(error: Error): void {
      cleanup();
      child.kill("SIGKILL");
      reject(error);
    }
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", onExit);
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    // Azurite closes gracefully on SIGTERM; SIGKILL after 5 s so a stuck child never outlives the tests.
    const force = setTimeout(() => child.kill("SIGKILL"), 5_000);
    child.once("exit", () => {
      clearTimeout(force);
      resolve();
    });
    child.kill("SIGCONT"); // a paused Azurite cannot handle SIGTERM
    child.kill("SIGTERM");
  });
}
