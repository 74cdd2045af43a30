/**
 * Test helper for the Managed HSM / vault emulator. Reuse it from any test that needs Key Vault.
 *
 * In-process (fast, default):
 *   const emu = await startTestEmulator({ hsms: ["primary"], vaults: ["v1"] });   // admin = ADMIN_OID
 *   const keys = emu.keyClient("primary");                 // real KeyClient over HTTPS, retries off
 *   const crypto = emu.cryptoClient(key.id!);              // real CryptographyClient
 *   const r = await emu.request("primary", "GET", "/keys?api-version=2025-07-01", { oid: "someone" });
 *   await emu.control("primary", "POST", "/_emulator/clock", { shiftDays: 30 });
 *   afterAll(() => emu.close());                            // stops servers, deletes the temp state dir
 *
 * As a child process (restart / SIGKILL tests; needs `npm run build` first, which `npm test` does):
 *   const child = await spawnEmulatorProcess(["--state-dir", dir, "--hsm", "primary=0", "--admin", ADMIN_OID]);
 *   child.ready.instances.primary.url; child.kill("SIGKILL"); await child.exited;
 *
 * Clients trust the emulator CA through `tlsOptions: { ca }` and use
 * `disableChallengeResourceVerification: true` (the emulator answers for the real resource names).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { CryptographyClient, KeyClient, type KeyClientOptions } from "@azure/keyvault-keys";
import type { TokenCredential } from "@azure/core-auth";
import { RestError } from "@azure/core-rest-pipeline";
import { startEmulator, type ReadyLine, type RunningEmulator } from "../../emulator/server";
import type { EmulatorOptions, InstanceSpec } from "../../emulator/options";

export const ADMIN_OID = "00000000-aaaa-4000-8000-000000000001";

type InstanceInput = string | (Partial<InstanceSpec> & { name: string });

export interface TestEmulatorOptions extends Partial<Omit<EmulatorOptions, "instances">> {
  hsms?: InstanceInput[];
  vaults?: InstanceInput[];
  /** Keep the state dir after close (default: delete it when this helper created it). */
  keepStateDir?: boolean;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, or undefined when empty. */
  body: any;
  text: string;
}

export interface TestEmulator {
  emulator: RunningEmulator;
  stateDir: string;
  ca: string;
  url(instance: string): string;
  /** SDK client options the emulator needs: the CA, no challenge-resource check, retries off. */
  clientOptions(extra?: KeyClientOptions): KeyClientOptions;
  credential(oid?: string): TokenCredential;
  keyClient(instance: string, oid?: string, extra?: KeyClientOptions): KeyClient;
  cryptoClient(keyId: string, oid?: string): CryptographyClient;
  token(instance: string, oid?: string): Promise<string>;
  /** Raw HTTPS request with a valid token for `oid` (default admin); `token: null` sends none. */
  request(instance: string, method: string, path: string, opts?: { oid?: string; token?: string | null; body?: unknown; headers?: Record<string, string> }): Promise<RawResponse>;
  /** /_emulator/ control call (clock, faults, audit, reset, info). */
  control(instance: string, method: string, path: string, body?: unknown): Promise<RawResponse>;
  close(): Promise<void>;
}

function toSpec(kind: "managedHsm" | "vault", input: InstanceInput): InstanceSpec {
  return typeof input === "string" ? { kind, name: input, port: 0 } : { port: 0, ...input, kind };
}

export function clientOptionsFor(ca: string, extra: KeyClientOptions = {}): KeyClientOptions {
  return { tlsOptions: { ca }, disableChallengeResourceVerification: true, retryOptions: { maxRetries: 0 }, ...extra };
}

export function rawHttpsRequest(ca: string, url: string, method: string, opts: { body?: unknown; headers?: Record<string, string> } = {}): Promise<RawResponse> {
  return new Promise((resolvePromise, reject) => {
    const payload = opts.body === undefined ? undefined : typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (payload !== undefined) {
      headers["content-type"] ??= "application/json";
      headers["content-length"] = String(Buffer.byteLength(payload));
    }
    const req = httpsRequest(url, { method, ca, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let body: unknown;
        try {
          body = text === "" ? undefined : JSON.parse(text);
        } catch {
          body = undefined;
        }
        resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body, text });
      });
    });
    req.on("error", reject);
    req.end(payload);
  });
}

export async function startTestEmulator(opts: TestEmulatorOptions = {}): Promise<TestEmulator> {
  const createdDir = opts.stateDir === undefined;
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), "hsm-emu-"));
  const { hsms = ["primary"], vaults = [], keepStateDir = false, ...rest } = opts;
  const emulator = await startEmulator({
    ...rest,
    stateDir,
    admins: rest.admins ?? [ADMIN_OID],
    instances: [...hsms.map((h) => toSpec("managedHsm", h)), ...vaults.map((v) => toSpec("vault", v))],
    log: rest.log ?? (() => undefined),
  });
  const ca = emulator.caPem;
  const url = (instance: string): string => {
    const i = emulator.instances[instance];
    if (i === undefined) throw new Error(`No emulator instance "${instance}"; started: ${Object.keys(emulator.instances).join(", ")}`);
    return i.url;
  };
  const kindOf = (instance: string): "managedHsm" | "vault" => emulator.instances[instance]?.kind ?? "managedHsm";
  const te: TestEmulator = {
    emulator,
    stateDir,
    ca,
    url,
    clientOptions: (extra) => clientOptionsFor(ca, extra),
    credential: (oid = ADMIN_OID) => emulator.credential(oid),
    keyClient: (instance, oid = ADMIN_OID, extra) => new KeyClient(url(instance), emulator.credential(oid), clientOptionsFor(ca, extra)),
    cryptoClient: (keyId, oid = ADMIN_OID) => new CryptographyClient(keyId, emulator.credential(oid), clientOptionsFor(ca)),
    token: (instance, oid = ADMIN_OID) => emulator.token(oid, { audience: kindOf(instance) }),
    request: async (instance, method, path, o = {}) => {
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      const token = o.token === undefined ? await emulator.token(o.oid ?? ADMIN_OID, { audience: kindOf(instance) }) : o.token;
      if (token !== null) headers["authorization"] = `Bearer ${token}`;
      return rawHttpsRequest(ca, url(instance) + path, method, { body: o.body, headers });
    },
    control: (instance, method, path, body) => rawHttpsRequest(ca, url(instance) + path, method, { body }),
    close: async () => {
      await emulator.close();
      if (createdDir && !keepStateDir) rmSync(stateDir, { recursive: true, force: true });
    },
  };
  return te;
}

export interface EmulatorProcess {
  child: ChildProcess;
  ready: ReadyLine;
  stderr(): string;
  kill(signal?: NodeJS.Signals): void;
  exited: Promise<number | null>;
}

/** Spawns `node dist/emulator/main.js ARGS` and resolves on its ready line (rejects on early exit). */
export function spawnEmulatorProcess(args: string[], timeoutMs = 30_000): Promise<EmulatorProcess> {
  const main = resolve(__dirname, "../../dist/emulator/main.js");
  const child = spawn(process.execPath, [main, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`Emulator did not print its ready line within ${timeoutMs} ms. stderr:\n${stderr}`));
    }, timeoutMs);
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.once("line", (line) => {
      clearTimeout(timer);
      try {
        const ready = JSON.parse(line) as ReadyLine;
        resolvePromise({ child, ready, stderr: () => stderr, kill: (s = "SIGTERM") => void child.kill(s), exited });
      } catch (e) {
        child.kill("SIGKILL");
        reject(new Error(`Emulator's first stdout line is not JSON: ${line} (${(e as Error).message})`));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Emulator exited with ${code} before it was ready. Did you run "npm run build"? stderr:\n${stderr}`));
    });
  });
}

/** Drains a paged SDK listing into an array. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of items) out.push(x);
  return out;
}

/**
 * The RestError a call must fail with. Throws (failing the test) when it succeeds or fails otherwise; no vitest
 * import here because bench/ loads this module outside the test runner.
 */
export async function restError(p: Promise<unknown>): Promise<RestError> {
  const outcome = await p.then(
    () => ({ resolved: true as const }),
    (err: unknown) => ({ resolved: false as const, err }),
  );
  if (outcome.resolved) throw new Error("Expected the call to fail with a RestError, but it succeeded.");
  if (!(outcome.err instanceof RestError)) throw new Error(`Expected a RestError, got: ${String(outcome.err)}`);
  return outcome.err;
}

/**
 * The emulator's HSMs and vaults as the app's settings would list them (name, kind, URL; all primaries): what
 * activities resolve instance names against, since their inputs never carry URLs.
 */
export function configuredInstancesOf(emu: TestEmulator): Array<{ name: string; kind: "managedHsm" | "vault"; url: string; role: "primary" }> {
  return Object.entries(emu.emulator.instances).map(([name, i]) => ({ name, kind: i.kind, url: i.url, role: "primary" as const }));
}
