/**
 * Azurite (the real Storage emulator, an npm devDependency) with blob, queue and table services as a child
 * process on ephemeral ports of 127.0.0.1. Data lives in `location` (survives restarts) or in memory.
 */
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { OutputTail, stopChild, waitForLine } from "./childProcess";
import { spawnWithLifeline } from "./spawnWithLifeline";

/** Azurite's fixed development account (public, documented by Microsoft; not a secret). */
export const AZURITE_ACCOUNT_NAME = "devstoreaccount1";
export const AZURITE_ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export interface AzuriteProcessOptions {
  /** Workspace folder; omitted → `--inMemoryPersistence`. */
  location?: string;
  /** Ports to listen on (default 0 = ephemeral). */
  ports?: { blob: number; queue: number; table: number };
  startTimeoutMs?: number;
  /**
   * Serve HTTPS with this certificate and key (PEM files) and check bearer tokens (`--oauth basic`: issuer,
   * audience and lifetime; Azurite takes tokens over HTTPS only). The endpoints are then `https://`.
   */
  tls?: { certFile: string; keyFile: string };
  /** Every output line (Azurite is quiet with --silent: start/stop lines only). */
  onLine?: (line: string) => void;
}

export interface AzuriteProcess {
  pid: number;
  blobEndpoint: string;
  queueEndpoint: string;
  tableEndpoint: string;
  /** All three endpoints with the development account. */
  connectionString: string;
  stop(): Promise<void>;
}

const LISTENING = /Azurite (Blob|Queue|Table) service is successfully listening at (https?:\/\/[^\s]+)/;

export async function startAzuriteProcess(options: AzuriteProcessOptions = {}): Promise<AzuriteProcess> {
  const main = join(dirname(createRequire(__filename).resolve("azurite/package.json")), "dist", "src", "azurite.js");
  const args: string[] = [];
  for (const service of ["blob", "queue", "table"] as const) args.push(`--${service}Host`, "127.0.0.1", `--${service}Port`, String(options.ports?.[service] ?? 0));
  args.push("--disableTelemetry", "--skipApiVersionCheck", "--loose", "--silent");
  if (options.tls !== undefined) args.push("--cert", options.tls.certFile, "--key", options.tls.keyFile, "--oauth", "basic");
  if (options.location !== undefined) {
    mkdirSync(options.location, { recursive: true });
    args.push("--location", options.location);
  } else {
    args.push("--inMemoryPersistence");
  }
  const child = spawnWithLifeline(main, args);
  if (child.pid === undefined) throw new Error("Could not spawn Azurite (node_modules/azurite missing? run npm ci).");
  const tail = new OutputTail();
  const endpoints: Record<string, string> = {};
  try {
    await waitForLine(
      child,
      "Azurite",
      (line) => {
        const m = LISTENING.exec(line);
        if (m) endpoints[(m[1] as string).toLowerCase()] = `${m[2] as string}/${AZURITE_ACCOUNT_NAME}`;
        return endpoints["blob"] && endpoints["queue"] && endpoints["table"] ? true : undefined;
      },
      { timeoutMs: options.startTimeoutMs ?? 60_000, tail, ...(options.onLine ? { onLine: (l: string) => options.onLine?.(l) } : {}) },
    );
  } catch (e) {
    await stopChild(child, 1_000);
    throw e;
  }
  const blobEndpoint = endpoints["blob"] as string;
  const queueEndpoint = endpoints["queue"] as string;
  const tableEndpoint = endpoints["table"] as string;
  let stopped: Promise<void> | undefined;
  return {
    pid: child.pid,
    blobEndpoint,
    queueEndpoint,
    tableEndpoint,
    connectionString:
      `DefaultEndpointsProtocol=${options.tls === undefined ? "http" : "https"};AccountName=${AZURITE_ACCOUNT_NAME};AccountKey=${AZURITE_ACCOUNT_KEY};` +
      `BlobEndpoint=${blobEndpoint};QueueEndpoint=${queueEndpoint};TableEndpoint=${tableEndpoint};`,
    stop: () => (stopped ??= stopChild(child)),
  };
}
