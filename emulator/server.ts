/**
 * startEmulator(options): starts every instance on its own HTTPS port on 127.0.0.1 and returns a
 * RunningEmulator. Used by main.ts (the CLI) and in-process by tests (test/support/emulator.ts).
 *
 *   const emu = await startEmulator({ stateDir, instances: [{ kind: "managedHsm", name: "primary", port: 0 }], admins: ["dev"] });
 *   const client = new KeyClient(emu.instances.primary!.url, emu.credential("dev"),
 *     { tlsOptions: { ca: emu.caPem }, disableChallengeResourceVerification: true });
 *   ...
 *   await emu.close();
 *
 * With `identity: { port }` it also serves an App Service-style managed identity endpoint (./identity/).
 *
 * Extension points: `routeModules` add routes (admin jobs), `plugins` start extra servers after the
 * instances (Event Grid topics) and may add entries to the ready line.
 */
import { mkdirSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { Socket } from "node:net";
import { resolve } from "node:path";
import { EmulatorCredential } from "./auth/emulatorCredential";
import { EMULATOR_TENANT_ID, ensureTokenSecret, signToken } from "./auth/tokens";
import { handleRequest } from "./http/handleRequest";
import type { EmulatorServices } from "./http/requestContext";
import { RouteTable } from "./http/routes";
import { Instance } from "./instance";
import { resourceFor, type InstanceKind } from "./instanceKind";
import { validateOptions, type EmulatorOptions, type InstanceSpec, type PluginHandle } from "./options";
import type { CapacitySettings } from "./capacity/capacityModel";
import { registerAdminRoutes } from "./admin/adminRoutes";
import { registerCryptoRoutes } from "./routes/cryptoRoutes";
import { registerKeyRoutes } from "./routes/keyRoutes";
import { registerRbacRoutes } from "./routes/rbacRoutes";
import { initSecurityDomainState } from "./securitydomain/securityDomainState";
import { registerSecurityDomainRoutes } from "./securitydomain/securityDomainRoutes";
import { loadOrCreateSecurityDomain } from "./securityDomain";
import { ensureTls } from "./tls";
import { eventGridPlugin, isEventGridPlugin } from "./eventgrid/eventGridPlugin";
import { startIdentityServer, type IdentityServer } from "./identity/identityServer";

export interface RunningInstance {
  name: string;
  kind: InstanceKind;
  /** https://127.0.0.1:PORT */
  url: string;
  port: number;
  instance: Instance;
}

export interface ReadyLine {
  event: "ready";
  caFile: string;
  tokenSecretFile: string;
  instances: Record<string, { kind: string; url: string }>;
  /** Present with `--identity`: IDENTITY_ENDPOINT, and the file holding IDENTITY_HEADER (never the secret). */
  identity?: { endpoint: string; headerFile: string };
}

export interface RunningEmulator {
  stateDir: string;
  caPem: string;
  caFile: string;
  tokenSecretFile: string;
  tenantId: string;
  instances: Record<string, RunningInstance>;
  services: EmulatorServices;
  routes: RouteTable;
  options: EmulatorOptions;
  /** The managed identity endpoint (options.identity): endpoint URL, header file and header secret. */
  identity?: IdentityServer;
  /** The exact JSON object main.ts prints when ready. */
  readyLine(): ReadyLine;
  /** A bearer token for `oid` (default audience: Managed HSM; pass "vault" for vaults). */
  token(oid: string, opts?: { audience?: "managedHsm" | "vault" | string; expiresInSeconds?: number }): Promise<string>;
  /** A TokenCredential for `oid` whose audience follows the requested scope. */
  credential(oid: string): EmulatorCredential;
  close(): Promise<void>;
}

/** The capacity model an instance gets: its own setting, else the emulator-wide one; HSMs only. */
function capacityFor(spec: InstanceSpec, options: EmulatorOptions): { capacity?: CapacitySettings } {
  if (spec.kind !== "managedHsm" || spec.capacity === false) return {};
  const capacity = spec.capacity ?? options.capacity;
  return capacity === undefined ? {} : { capacity };
}

export async function startEmulator(options: EmulatorOptions): Promise<RunningEmulator> {
  validateOptions(options);
  const log = options.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const stateDir = resolve(options.stateDir);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const tls = await ensureTls(stateDir, { azureHostNames: options.azureHostNames === true });
  const { file: tokenSecretFile, secret: tokenSecret } = ensureTokenSecret(stateDir);
  const vaultSecret = loadOrCreateSecurityDomain(stateDir, "_vaults");

  const instanceMap = new Map<string, Instance>();
  for (const spec of options.instances) {
    const sd = spec.kind === "managedHsm" ? loadOrCreateSecurityDomain(stateDir, spec.securityDomain ?? spec.name) : vaultSecret;
    instanceMap.set(
      spec.name,
      new Instance({
        name: spec.name,
        kind: spec.kind,
        stateDir,
        securityDomain: sd,
        keyBackupSecret: sd.secret,
        purgeProtection: spec.purgeProtection ?? false,
        softDeleteRetentionDays: spec.softDeleteRetentionDays ?? 90,
        admins: options.admins ?? [],
        log,
        ...capacityFor(spec, options),
      }),
    );
    if (spec.kind === "managedHsm") initSecurityDomainState(instanceMap.get(spec.name) as Instance, spec.recovery === true);
  }
  // Persist first-start seeding (admin role assignments) before anyone can observe it.
  await Promise.all([...instanceMap.values()].map((i) => i.commit()));

  const services: EmulatorServices = {
    stateDir,
    caPem: tls.caPem,
    instances: instanceMap,
    restoreBackupWindowMinutes: options.restoreBackupWindowMinutes ?? 30,
    blobConnectionString: options.blobConnectionString,
    log,
  };
  const routes = new RouteTable();
  registerKeyRoutes(routes);
  registerCryptoRoutes(routes);
  registerRbacRoutes(routes);
  registerAdminRoutes(routes);
  registerSecurityDomainRoutes(routes);
  for (const mod of options.routeModules ?? []) mod(routes, services);

  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const timers: NodeJS.Timeout[] = [];
  const running: Record<string, RunningInstance> = {};
  try {
    for (const spec of options.instances) {
      const instance = instanceMap.get(spec.name) as Instance;
      const server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
        handleRequest(req, res, { instance, services, routes, tokenSecret }).catch((e: unknown) => {
          log(`[${instance.name}] request failed: ${(e as Error)?.message ?? String(e)}`);
          if (!res.headersSent) res.writeHead(500).end();
        });
      });
      server.keepAliveTimeout = 5000;
      server.on("connection", (s: Socket) => {
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
      });
      server.on("tlsClientError", () => undefined); // clients that distrust the CA just disconnect
      await new Promise<void>((res, rej) => {
        server.once("error", rej);
        server.listen(spec.port, "127.0.0.1", () => {
          server.off("error", rej);
          res();
        });
      });
      servers.push(server);
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : spec.port;
      instance.url = `https://127.0.0.1:${port}`;
      running[spec.name] = { name: spec.name, kind: spec.kind, url: instance.url, port, instance };
      const timer = setInterval(() => {
        instance.tick().catch((e: unknown) => log(`[${instance.name}] background tick failed: ${(e as Error).message}`));
      }, options.tickIntervalMs ?? 5000);
      timer.unref();
      timers.push(timer);
    }
  } catch (e) {
    for (const t of timers) clearInterval(t);
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    const err = e as NodeJS.ErrnoException;
    if (err.code === "EADDRINUSE") throw new Error(`Port already in use (${err.message}). Pick another port or 0 for an ephemeral one.`);
    throw e;
  }

  const pluginHandles: PluginHandle[] = [];
  let closed = false;
  const emulator: RunningEmulator = {
    stateDir,
    caPem: tls.caPem,
    caFile: tls.caFile,
    tokenSecretFile,
    tenantId: EMULATOR_TENANT_ID,
    instances: running,
    services,
    routes,
    options,
    readyLine: () => {
      const instances: Record<string, { kind: string; url: string }> = {};
      for (const r of Object.values(running)) instances[r.name] = { kind: r.kind, url: r.url };
      for (const h of pluginHandles) Object.assign(instances, h.readyInstances ?? {});
      const line: ReadyLine = { event: "ready", caFile: tls.caFile, tokenSecretFile, instances };
      if (emulator.identity !== undefined) line.identity = { endpoint: emulator.identity.endpoint, headerFile: emulator.identity.headerFile };
      return line;
    },
    token: async (oid, opts = {}) => {
      const a = opts.audience ?? "managedHsm";
      const aud = a === "managedHsm" || a === "vault" ? resourceFor(a) : a;
      return (await signToken(tokenSecret, { oid, aud, ...(opts.expiresInSeconds !== undefined ? { expiresInSeconds: opts.expiresInSeconds } : {}) })).token;
    },
    credential: (oid) => new EmulatorCredential(tokenSecret, oid),
    close: async () => {
      if (closed) return;
      closed = true;
      for (const t of timers) clearInterval(t);
      if (emulator.identity !== undefined) await emulator.identity.close();
      for (const h of pluginHandles.reverse()) await h.close().catch((e: unknown) => log(`plugin close failed: ${(e as Error).message}`));
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((r) => {
              s.close(() => r());
              s.closeIdleConnections();
            }),
        ),
      );
      for (const s of sockets) s.destroy();
      await Promise.all([...instanceMap.values()].map((i) => i.close()));
    },
  };
  // Event Grid (topics, subscriptions, vault events) is always on unless the caller passed its own instance.
  const plugins = options.plugins ?? [];
  const allPlugins = plugins.some(isEventGridPlugin) ? plugins : [eventGridPlugin(), ...plugins];
  try {
    for (const plugin of allPlugins) pluginHandles.push(await plugin(emulator));
    if (options.identity !== undefined) {
      emulator.identity = await startIdentityServer({
        stateDir,
        port: options.identity.port,
        tokenSecret,
        ...(options.identity.defaultOid !== undefined ? { defaultOid: options.identity.defaultOid } : {}),
        clientIds: options.identity.clientIds ?? [],
        log,
      });
    }
  } catch (e) {
    // A plugin refusing its options (e.g. --subscribe to an HSM) must not leave the instances listening.
    await emulator.close();
    throw e;
  }
  return emulator;
}
