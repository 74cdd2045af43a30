/**
 * startLocalStack(options): the whole local substrate of the app, as `npm start` and the e2e tests use it.
 *
 *   1. Azurite (blob, queue, table) as a child process on ephemeral ports, data in STATE/azurite (or memory);
 *      a persistent stack asks for last start's ports again (STATE/stack-ports.json: key ids, durable
 *      histories and backup URLs name them); optionally a storage gate in front of its blob endpoint (tests cut or
 *      hold storage through it, dev/storageGate.ts);
 *   2. the emulator as a child process (`dist/emulator/main.js`: BUILD FIRST) with HSMs `primary` and `dr`
 *      (sharing primary's security domain), vault `app`, Event Grid topic `lifecycle`, the App Service-style
 *      managed identity endpoint, backups to Azurite, and the operator as --admin; state in STATE/emulator;
 *   3. least-privilege role assignments for the rotation, backup and drill identities (dev/stackIdentities.ts);
 *   4. the containers the app uses; optionally demo keys (dev/seedDemoKeys.ts);
 *   5. the app settings (every settingsCatalog key + IDENTITY_ENDPOINT/IDENTITY_HEADER) in
 *      STATE/local.settings.json and the rotation policy in STATE/rotation-policy.json;
 *   6. optionally the runner in this process with this app (dist/functions: build first), plus Event Grid
 *      subscriptions (vault `app` and topic `lifecycle` → the `keyEventGrid` function) when the app has it.
 *
 *   const stack = await startLocalStack({ stateDir, runner: { clock: "virtual", port: 0 }, demoKeys: true });
 *   const keys = new KeyClient(stack.urls.primary, stack.adminCredential, stack.clientOptions());
 *   const asRotation = stack.managedIdentityCredential("rotation");   // the real ManagedIdentityCredential
 *   await stack.shiftClock("primary", 25 * 86_400);
 *   await stack.runner?.fireAllTimers(); await stack.runner?.waitForTerminal();
 *   await stack.close();                                             // runner, emulator, Azurite: all gone
 *
 * One stack with managed identity per PROCESS: MSAL (inside ManagedIdentityCredential) caches the identity
 * endpoint and its tokens process-wide, and the app caches its settings and loaded modules, so a second stack
 * in the same process would be handed the first one's endpoint and tokens (refused with a clear error). The
 * exception is a restart on the same persistent state dir: same ports, identity header and token secret.
 * Tests: one stack per test file (vitest forks per file).
 *
 * If start fails halfway, everything already started is stopped before the error is thrown. The children run
 * under dev/lifeline.ts, so they also exit when this process dies without close() (even by SIGKILL).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { randomBytes } from "node:crypto";
import { join, resolve } from "node:path";
import type { TokenCredential } from "@azure/core-auth";
import { ManagedIdentityCredential } from "@azure/identity";
import type { KeyClientOptions } from "@azure/keyvault-keys";
import { BlobServiceClient } from "@azure/storage-blob";
import { EmulatorCredential } from "../emulator/auth/emulatorCredential";
import { vaultResourceId } from "../emulator/eventgrid/resourceIds";
import { startRunner, type Runner } from "../runner/index";
import type { RunnerLogger } from "../runner/logger";
import { triggerNames } from "../shared/names";
import { startAzuriteProcess, type AzuriteProcess } from "./azuriteProcess";
import { startStorageGate, type StorageGate } from "./storageGate";
import { ensureTls } from "../emulator/tls";
import { startTlsBridge, type TlsBridge } from "./tlsBridge";
import { repoRoot } from "./repoRoot";
import { startEmulatorProcess, type EmulatorProcess, type EmulatorReady } from "./emulatorProcess";
import { seedDemoKeys, demoKeys } from "./seedDemoKeys";
import { seedRoleAssignments } from "./seedRoleAssignments";
import { isPortInUse, NO_PORTS, portOf, readStackPorts, writeStackPorts, type StackPorts } from "./stackPorts";
import { plannedAssignments, STACK_IDENTITIES, type StackIdentities } from "./stackIdentities";
import { buildStackSettings, STACK_CONTAINERS, writeSettingsFile } from "./stackSettings";

/** The copy container of `backupCopy` (the deployment's name for it, infra/main.bicep). */
const BACKUP_COPY_CONTAINER = "hsm-backup-copies";

/** Instance names the stack starts (the rotation policy example and DRILL_PAIRS use them). */
export const STACK_NAMES = { primary: "primary", dr: "dr", vault: "app", topic: "lifecycle" } as const;

/** Event types the remediation trigger takes, from the vault and from the lifecycle topic. */
const KEY_EVENT_TYPES = ["Microsoft.KeyVault.KeyNearExpiry", "Microsoft.KeyVault.KeyExpired", "Microsoft.KeyVault.KeyNewVersionCreated"];

export interface LocalStackRunnerOptions {
  /** Default: the repository root (this app; package.json main = dist/functions/*.js). */
  appDir?: string;
  /** 0 = ephemeral (default 0; `npm start` asks for 7071). */
  port?: number;
  clock?: "real" | "virtual";
  scheduleTimers?: boolean;
  startupTimers?: boolean;
  maxConcurrentActivities?: number;
  /** Runner logs (default: off). */
  log?: boolean | RunnerLogger;
}

export interface LocalStackOptions {
  /** Everything persistent lives here (created if missing); reuse it to restart with the same state. */
  stateDir: string;
  /** Start the runner in this process (default: no runner). `true` = defaults. */
  runner?: boolean | LocalStackRunnerOptions;
  /** Seed the demo keys (default false). */
  demoKeys?: boolean;
  /** App settings that win over the computed ones (e.g. schedules). */
  settingsOverrides?: Record<string, string>;
  /**
   * The immutable copy: Azurite serves HTTPS (a certificate from the emulator's CA, so HSM_TLS_CA_FILE trusts it)
   * with OAuth (`--oauth basic`), container `hsm-backup-copies` is created and BACKUP_COPY_CONTAINER_URL points at
   * it over HTTPS, reached with the backup (copy) and retention identities' tokens. Everything else keeps plain
   * `http://` endpoints through a TLS bridge (dev/tlsBridge.ts). Default off.
   */
  backupCopy?: boolean;
  /** Keep Azurite's data in memory instead of STATE/azurite (tests). */
  azuriteInMemory?: boolean;
  /**
   * Put a TCP gate (dev/storageGate.ts) between Azurite's blob endpoint and everything that writes backups —
   * the HSMs and the app — so a test can cut storage or hold it mid-job. Default off. The gate's port is
   * ephemeral, so use it with `azuriteInMemory` (backup URLs recorded in persistent state would name it).
   */
  storageGate?: boolean;
  restoreBackupWindowMinutes?: number;
  /** More emulator flags, e.g. the capacity model: `["--capacity", "--partitions", "1", "--time-scale", "5"]`. */
  emulatorArgs?: readonly string[];
  /**
   * Also attach the operator (the --admin principal) to the identity endpoint, so a terminal can run
   * `hsm-lifecycle dr …` as the operator with AZURE_CLIENT_ID (DefaultAzureCredential → managed identity), as
   * `az login` would in Azure. Default off: then the identity header the app holds yields only the workflow
   * identities, never the administrator.
   */
  operatorManagedIdentity?: boolean;
  /** Progress lines ("azurite: listening …"); default: silent. */
  log?: (line: string) => void;
  /** Every output line of the children (Azurite, emulator); default: kept only for error messages. */
  childOutput?: (source: "azurite" | "emulator", line: string) => void;
  startTimeoutMs?: number;
}

export interface LocalStack {
  stateDir: string;
  /** STATE/local.settings.json (the runner's --settings). */
  settingsFile: string;
  /** The app settings written there. */
  settings: Readonly<Record<string, string>>;
  /** The emulator's ready line (instances, caFile, tokenSecretFile, identity). */
  ready: EmulatorReady;
  urls: { primary: string; dr: string; vault: string; topic: string };
  /** The topic's publish endpoint (`https://127.0.0.1:PORT/api/events`). */
  topicEndpoint: string;
  caFile: string;
  caPem: string;
  tokenSecretFile: string;
  identityEndpoint: string;
  identities: StackIdentities;
  /** The operator (--admin): Managed HSM Administrator/Crypto Officer/Crypto User, Key Vault Administrator. */
  adminCredential: EmulatorCredential;
  /** Azurite connection string (blob, queue, table), straight to Azurite even when a storage gate is on. */
  storageConnectionString: string;
  /** The gate the HSMs and the app reach blob storage through (only with `storageGate: true`). */
  storageGate?: StorageGate;
  azurite: { pid: number; blobEndpoint: string; queueEndpoint: string; tableEndpoint: string };
  /** With `backupCopy`: the copy container's HTTPS URL (BACKUP_COPY_CONTAINER_URL) and its name. */
  backupCopy?: { url: string; container: string };
  emulatorPid: number;
  /** Child pids (Azurite, emulator) — all gone after close(). */
  childPids(): number[];
  /** SDK client options for the emulator: its CA, no challenge-resource check (the emulator answers for the real resources). */
  clientOptions(extra?: KeyClientOptions): KeyClientOptions;
  /**
   * The real ManagedIdentityCredential of a workflow identity, through the emulator's identity endpoint.
   * Sets IDENTITY_ENDPOINT/IDENTITY_HEADER in process.env if unset (MSAL reads them on first use).
   */
  managedIdentityCredential(workload: "rotation" | "backup" | "drill"): TokenCredential;
  /** Moves one instance's clock forward by `seconds` (emulator `/_emulator/clock`; due automatic rotations run); returns its total offset in seconds. */
  shiftClock(instance: string, seconds: number): Promise<number>;
  /** A loopback `/_emulator/…` control call on one instance; answers the status and the parsed JSON body. */
  control(instance: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** The emulator's last log lines (for test failure messages). */
  emulatorOutput(): string;
  runner?: Runner;
  close(): Promise<void>;
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const log = options.log ?? (() => undefined);
  const stateDir = resolve(options.stateDir);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const root = repoRoot();
  const closers: Array<{ what: string; close: () => Promise<void> }> = [];
  // Fast path of the safety net: if this process exits without close() (process.exit, uncaught error),
  // SIGKILL the children at once; the lifeline covers the deaths no handler sees.
  const childPids: number[] = [];
  const killChildrenOnExit = (): void => {
    for (const pid of childPids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  };
  process.on("exit", killChildrenOnExit);
  const closeAll = async (): Promise<void> => {
    const errors: string[] = [];
    for (const c of closers.splice(0).reverse()) {
      try {
        await c.close();
        log(`${c.what}: stopped`);
      } catch (e) {
        errors.push(`${c.what}: ${(e as Error).message}`);
      }
    }
    process.off("exit", killChildrenOnExit);
    if (errors.length > 0) throw new Error(`Stopping the local stack failed: ${errors.join("; ")}`);
  };

  try {
    // 1. Azurite
    // A persistent stack reuses last start's ports (see stackPorts.ts); in-memory stacks always start fresh.
    const persistent = !options.azuriteInMemory;
    const lastPorts = persistent ? readStackPorts(stateDir) : NO_PORTS;
    log("azurite: starting (blob, queue, table)");
    // The immutable copy needs Azurite on HTTPS: its certificate comes from the emulator's CA (created here if the
    // emulator has not made it yet; the emulator then uses the same files).
    const copyTls = options.backupCopy === true ? await ensureTls(join(stateDir, "emulator")) : undefined;
    const startAzurite = (ports: StackPorts["azurite"]): Promise<AzuriteProcess> =>
      copyTls !== undefined ? startBridgedAzurite(ports, copyTls.caPem) : startPlainAzurite(ports);
    const startBridgedAzurite = async (ports: StackPorts["azurite"], ca: string): Promise<AzuriteProcess> => {
      const tls = { certFile: join(stateDir, "emulator", "tls", "server.pem"), keyFile: join(stateDir, "emulator", "tls", "server-key.pem") };
      const secure = await startPlainAzurite(NO_PORTS.azurite, tls);
      const bridges: TlsBridge[] = [];
      try {
        for (const service of ["blob", "queue", "table"] as const) bridges.push(await startTlsBridge(portOf(secure[`${service}Endpoint`]), ca, ports[service]));
      } catch (e) {
        for (const b of bridges) await b.close();
        await secure.stop();
        throw e;
      }
      const [blob, queue, table] = bridges.map((b, i) => secure[(["blobEndpoint", "queueEndpoint", "tableEndpoint"] as const)[i]!].replace(/^https:\/\/127\.0\.0\.1:\d+/, `http://127.0.0.1:${b.port}`)) as [string, string, string];
      httpsBlobEndpoint = secure.blobEndpoint;
      return {
        pid: secure.pid,
        blobEndpoint: blob,
        queueEndpoint: queue,
        tableEndpoint: table,
        connectionString: secure.connectionString
          .replace("DefaultEndpointsProtocol=https;", "DefaultEndpointsProtocol=http;")
          .replace(`BlobEndpoint=${secure.blobEndpoint};`, `BlobEndpoint=${blob};`)
          .replace(`QueueEndpoint=${secure.queueEndpoint};`, `QueueEndpoint=${queue};`)
          .replace(`TableEndpoint=${secure.tableEndpoint};`, `TableEndpoint=${table};`),
        stop: async () => {
          for (const b of bridges) await b.close();
          await secure.stop();
        },
      };
    };
    let httpsBlobEndpoint: string | undefined;
    const startPlainAzurite = (ports: StackPorts["azurite"], tls?: { certFile: string; keyFile: string }): Promise<AzuriteProcess> =>
      startAzuriteProcess({
        ports,
        ...(tls !== undefined ? { tls } : {}),
        ...(persistent ? { location: join(stateDir, "azurite") } : {}),
        ...(options.startTimeoutMs !== undefined ? { startTimeoutMs: options.startTimeoutMs } : {}),
        ...(options.childOutput ? { onLine: (l: string) => options.childOutput?.("azurite", l) } : {}),
      });
    const azurite: AzuriteProcess = await startAzurite(lastPorts.azurite).catch((e: unknown) => {
      if (lastPorts === NO_PORTS || !isPortInUse(e)) throw e;
      log("azurite: WARNING last start's ports are taken; using new ones (endpoints recorded in old state no longer match)");
      return startAzurite(NO_PORTS.azurite);
    });
    childPids.push(azurite.pid);
    closers.push({ what: "azurite", close: () => azurite.stop() });
    log(`azurite: blob ${azurite.blobEndpoint} (pid ${azurite.pid})`);
    // Storage as the HSMs and the app see it: Azurite itself, or the gate in front of its blob endpoint.
    let storageGate: StorageGate | undefined;
    let appStorageConnectionString = azurite.connectionString;
    if (options.storageGate) {
      const gate = await startStorageGate(portOf(azurite.blobEndpoint));
      storageGate = gate;
      closers.push({ what: "storage gate", close: () => gate.close() });
      const gatedBlob = azurite.blobEndpoint.replace(`:${portOf(azurite.blobEndpoint)}/`, `:${gate.port}/`);
      if (gatedBlob === azurite.blobEndpoint) throw new Error(`Cannot route storage through the gate: unexpected blob endpoint ${azurite.blobEndpoint}`);
      appStorageConnectionString = azurite.connectionString.replace(`BlobEndpoint=${azurite.blobEndpoint};`, `BlobEndpoint=${gatedBlob};`);
      log(`storage gate: ${gatedBlob} → ${azurite.blobEndpoint}`);
    }

    // 2. Emulator
    const emulatorArgs = (ports: Record<string, number>): string[] => [
      "--state-dir", join(stateDir, "emulator"),
      "--hsm", `${STACK_NAMES.primary}=${ports[STACK_NAMES.primary] ?? 0}`,
      "--hsm", `${STACK_NAMES.dr}=${ports[STACK_NAMES.dr] ?? 0},security-domain=${STACK_NAMES.primary}`,
      "--vault", `${STACK_NAMES.vault}=${ports[STACK_NAMES.vault] ?? 0}`,
      "--topic", `${STACK_NAMES.topic}=${ports[STACK_NAMES.topic] ?? 0}`,
      "--identity", String(ports["identity"] ?? 0),
      // Only the workflow identities get managed-identity tokens (the operator only when asked for, see the option).
      ...(["rotation", "backup", "retention", "drill", "steward", "recovery"] as const).flatMap((w) => ["--managed-identity", STACK_IDENTITIES[w]]),
      ...(options.operatorManagedIdentity === true ? ["--managed-identity", STACK_IDENTITIES.operator] : []),
      "--blob", appStorageConnectionString,
      "--admin", STACK_IDENTITIES.operator,
      ...(options.restoreBackupWindowMinutes !== undefined ? ["--restore-backup-window-minutes", String(options.restoreBackupWindowMinutes)] : []),
      ...(options.emulatorArgs ?? []),
    ];
    log("emulator: starting (HSMs primary + dr, vault app, topic lifecycle, identity endpoint)");
    const startEmulator = (ports: Record<string, number>): Promise<EmulatorProcess> =>
      startEmulatorProcess(join(root, "dist", "emulator", "main.js"), emulatorArgs(ports), {
        ...(options.startTimeoutMs !== undefined ? { startTimeoutMs: options.startTimeoutMs } : {}),
        ...(options.childOutput ? { onLine: (l: string) => options.childOutput?.("emulator", l) } : {}),
      });
    const emulator: EmulatorProcess = await startEmulator(lastPorts.emulator).catch((e: unknown) => {
      if (lastPorts === NO_PORTS || !isPortInUse(e)) throw e;
      log("emulator: WARNING last start's ports are taken; using new ones (key ids recorded in old state no longer match)");
      return startEmulator({});
    });
    childPids.push(emulator.pid);
    closers.push({ what: "emulator", close: () => emulator.stop() });
    const ready = emulator.ready;
    const instanceUrl = (name: string): string => {
      const url = ready.instances[name]?.url;
      if (url === undefined) throw new Error(`The emulator's ready line has no instance "${name}": ${JSON.stringify(ready.instances)}`);
      return url;
    };
    const topic = ready.instances[STACK_NAMES.topic];
    if (topic?.endpoint === undefined || topic.keyFile === undefined || topic.resourceId === undefined) {
      throw new Error(`The emulator's ready line has no usable topic "${STACK_NAMES.topic}": ${JSON.stringify(topic)}`);
    }
    if (ready.identity === undefined) throw new Error("The emulator's ready line has no identity endpoint; is dist/emulator up to date? Run npm run build.");
    const urls = { primary: instanceUrl(STACK_NAMES.primary), dr: instanceUrl(STACK_NAMES.dr), vault: instanceUrl(STACK_NAMES.vault), topic: topic.url };
    const caPem = readFileSync(ready.caFile, "utf8");
    const identityHeader = readFileSync(ready.identity.headerFile, "utf8").trim();
    const topicKey = readFileSync(topic.keyFile, "utf8").trim();
    const adminCredential = new EmulatorCredential(ready.tokenSecretFile, STACK_IDENTITIES.operator);
    if (persistent) {
      const emulatorPorts: Record<string, number> = { identity: portOf(ready.identity.endpoint) };
      for (const [name, entry] of Object.entries(ready.instances)) emulatorPorts[name] = portOf(entry.url);
      writeStackPorts(stateDir, {
        azurite: { blob: portOf(azurite.blobEndpoint), queue: portOf(azurite.queueEndpoint), table: portOf(azurite.tableEndpoint) },
        emulator: emulatorPorts,
      });
    }
    log(`emulator: primary ${urls.primary}, dr ${urls.dr}, vault ${urls.vault}, topic ${topic.endpoint} (pid ${emulator.pid})`);

    // 3. Role assignments
    const byInstance = { [STACK_NAMES.primary]: urls.primary, [STACK_NAMES.dr]: urls.dr, [STACK_NAMES.vault]: urls.vault };
    const plan = plannedAssignments({ primary: STACK_NAMES.primary, dr: STACK_NAMES.dr, vault: STACK_NAMES.vault });
    const added = await seedRoleAssignments(plan, STACK_IDENTITIES, byInstance, adminCredential, caPem);
    log(`rbac: ${plan.length} role assignments in place (${added} added) for rotation ${STACK_IDENTITIES.rotation}, backup ${STACK_IDENTITIES.backup}, drill ${STACK_IDENTITIES.drill}`);

    // 4. Containers, demo keys
    const blobService = BlobServiceClient.fromConnectionString(azurite.connectionString);
    const backupCopy = httpsBlobEndpoint === undefined ? undefined : { url: `${httpsBlobEndpoint}/${BACKUP_COPY_CONTAINER}`, container: BACKUP_COPY_CONTAINER };
    const containers = [...Object.values(STACK_CONTAINERS), ...(backupCopy === undefined ? [] : [backupCopy.container])];
    for (const container of containers) await blobService.getContainerClient(container).createIfNotExists();
    log(`storage: containers ${containers.join(", ")}${backupCopy === undefined ? "" : ` (copies over HTTPS with OAuth: ${backupCopy.url})`}`);
    if (options.demoKeys) {
      const created = await seedDemoKeys(demoKeys({ primary: STACK_NAMES.primary, vault: STACK_NAMES.vault }), byInstance, adminCredential, caPem);
      log(created.length > 0 ? `keys: demo keys created: ${created.join(", ")}` : "keys: demo keys already present");
    }

    // 5. Settings and rotation policy
    const policyFile = join(stateDir, "rotation-policy.json");
    if (!existsSync(policyFile)) {
      const example = JSON.parse(readFileSync(join(root, "shared", "rotation", "rotation-policy.example.json"), "utf8")) as Record<string, unknown>;
      delete example["$schema"]; // the schema path is relative to the example's folder
      writeFileSync(policyFile, JSON.stringify(example, null, 2) + "\n");
    }
    // The manifest key lives with the backups' state: a new key would make every earlier manifest unauthenticated.
    const manifestKeyFile = join(stateDir, "backup-manifest.key");
    if (!existsSync(manifestKeyFile)) writeFileSync(manifestKeyFile, `${randomBytes(32).toString("base64")}\n`, { mode: 0o600 });
    const settings = buildStackSettings({
      manifestKey: readFileSync(manifestKeyFile, "utf8").trim(),
      hsms: { [STACK_NAMES.primary]: urls.primary, [STACK_NAMES.dr]: urls.dr },
      vaults: { [STACK_NAMES.vault]: urls.vault },
      drillPairs: [[STACK_NAMES.primary, STACK_NAMES.dr]],
      rotationPolicyFile: policyFile,
      storageConnectionString: appStorageConnectionString,
      topicEndpoint: topic.endpoint,
      topicKey,
      eventSources: [vaultResourceId(STACK_NAMES.vault), topic.resourceId],
      caFile: ready.caFile,
      identityEndpoint: ready.identity.endpoint,
      identityHeader,
      tokenSecretFile: ready.tokenSecretFile,
      identities: { rotation: STACK_IDENTITIES.rotation, backup: STACK_IDENTITIES.backup, drill: STACK_IDENTITIES.drill },
      operatorIdentity: options.operatorManagedIdentity === true,
      ...(options.settingsOverrides || backupCopy ? { overrides: { ...(backupCopy ? { BACKUP_COPY_CONTAINER_URL: backupCopy.url } : {}), ...options.settingsOverrides } } : {}),
      warn: (line) => log(`settings: WARNING ${line}`),
    });
    const settingsFile = join(stateDir, "local.settings.json");
    writeSettingsFile(settingsFile, settings);
    log(`settings: ${settingsFile}`);

    const identityEnv = { IDENTITY_ENDPOINT: ready.identity.endpoint, IDENTITY_HEADER: identityHeader };
    const useIdentityEnvironment = (): void => claimIdentityEnvironment(identityEnv);

    // 6. Runner in-process
    let runner: Runner | undefined;
    if (options.runner !== undefined && options.runner !== false) {
      const r = options.runner === true ? {} : options.runner;
      // The app reads process.env (as on Azure); the runner only fills unset keys, so the stack's values are
      // put in first and the previous environment comes back on close.
      useIdentityEnvironment();
      const restoreEnv = applyEnvironment(settings);
      closers.push({ what: "environment", close: async () => restoreEnv() });
      runner = await startRunner({
        appDir: r.appDir ?? root,
        port: r.port ?? 0,
        stateDir: join(stateDir, "runner"),
        settingsFile,
        clock: r.clock ?? "real",
        ...(r.scheduleTimers !== undefined ? { scheduleTimers: r.scheduleTimers } : {}),
        ...(r.startupTimers !== undefined ? { startupTimers: r.startupTimers } : {}),
        ...(r.maxConcurrentActivities !== undefined ? { maxConcurrentActivities: r.maxConcurrentActivities } : {}),
        log: r.log ?? false,
      });
      const started = runner;
      closers.push({ what: "runner", close: () => started.close() });
      log(`runner: ${runner.url} (${runner.functions.length} functions)`);
      if (runner.functions.includes(triggerNames.keyEventGrid)) {
        const webhook = `${runner.url}/runtime/webhooks/EventGrid?functionName=${triggerNames.keyEventGrid}`;
        for (const [name, source] of [["app-keys-to-runner", STACK_NAMES.vault], ["lifecycle-to-runner", STACK_NAMES.topic]] as const) {
          await controlCall(caPem, `${urls.topic}/_emulator/eventgrid/subscriptions/${name}`, "PUT", { source, endpoint: webhook, includedEventTypes: KEY_EVENT_TYPES });
        }
        log(`eventgrid: vault ${STACK_NAMES.vault} and topic ${STACK_NAMES.topic} → ${triggerNames.keyEventGrid}`);
      }
    }

    let closing: Promise<void> | undefined;
    return {
      stateDir,
      settingsFile,
      settings,
      ready,
      urls,
      topicEndpoint: topic.endpoint,
      caFile: ready.caFile,
      caPem,
      tokenSecretFile: ready.tokenSecretFile,
      identityEndpoint: ready.identity.endpoint,
      identities: STACK_IDENTITIES,
      adminCredential,
      storageConnectionString: azurite.connectionString,
      ...(storageGate !== undefined ? { storageGate } : {}),
      azurite: { pid: azurite.pid, blobEndpoint: azurite.blobEndpoint, queueEndpoint: azurite.queueEndpoint, tableEndpoint: azurite.tableEndpoint },
      ...(backupCopy !== undefined ? { backupCopy } : {}),
      emulatorPid: emulator.pid,
      childPids: () => [...childPids],
      clientOptions: (extra = {}) => ({ tlsOptions: { ca: caPem }, disableChallengeResourceVerification: true, ...extra }),
      managedIdentityCredential: (workload) => {
        useIdentityEnvironment();
        return new ManagedIdentityCredential({ clientId: STACK_IDENTITIES[workload] });
      },
      shiftClock: async (instance, seconds) => {
        const url = ready.instances[instance]?.url;
        if (url === undefined || ready.instances[instance]?.kind === "eventGridTopic") throw new Error(`No HSM or vault "${instance}" in the stack; use one of ${STACK_NAMES.primary}, ${STACK_NAMES.dr}, ${STACK_NAMES.vault}.`);
        const answer = (await controlCall(caPem, `${url}/_emulator/clock`, "POST", { shiftSeconds: seconds })) as Record<string, unknown>;
        if (typeof answer["offsetMs"] !== "number") throw new Error(`Clock shift of ${instance} answered without offsetMs: ${JSON.stringify(answer)}`);
        return answer["offsetMs"] / 1000;
      },
      control: async (instance, method, path, body) => {
        const url = ready.instances[instance]?.url;
        if (url === undefined) throw new Error(`No instance "${instance}" in the stack; use one of ${Object.keys(ready.instances).join(", ")}.`);
        if (!path.startsWith("/_emulator/")) throw new Error(`Control calls go to /_emulator/… paths, not "${path}"; use an SDK client for the service's own API.`);
        return controlRequest(caPem, `${url}${path}`, method, body);
      },
      emulatorOutput: () => emulator.recentOutput(),
      ...(runner !== undefined ? { runner } : {}),
      close: () => (closing ??= closeAll()),
    };
  } catch (e) {
    await closeAll().catch((closeError: unknown) => log(`cleanup after failed start: ${(closeError as Error).message}`));
    throw e;
  }
}

/** Which identity endpoint this process's MSAL was pointed at (it caches the first one for the process). */
let claimedIdentityEndpoint: string | undefined;

function claimIdentityEnvironment(env: { IDENTITY_ENDPOINT: string; IDENTITY_HEADER: string }): void {
  if (claimedIdentityEndpoint !== undefined && claimedIdentityEndpoint !== env.IDENTITY_ENDPOINT) {
    throw new Error(
      `This process already used the identity endpoint ${claimedIdentityEndpoint} of another local stack; MSAL caches it process-wide. ` +
        "Run one local stack with managed identity per process (one per test file).",
    );
  }
  claimedIdentityEndpoint = env.IDENTITY_ENDPOINT;
  process.env["IDENTITY_ENDPOINT"] = env.IDENTITY_ENDPOINT;
  process.env["IDENTITY_HEADER"] = env.IDENTITY_HEADER;
}

/** Sets every value in process.env; returns a function that puts the previous values back. */
function applyEnvironment(values: Record<string, string>): () => void {
  const previous = new Map<string, string | undefined>();
  for (const [k, v] of Object.entries(values)) {
    previous.set(k, process.env[k]);
    process.env[k] = v;
  }
  return () => {
    for (const [k, v] of previous) {
      if (k === "IDENTITY_ENDPOINT" || k === "IDENTITY_HEADER") continue; // MSAL keeps using them anyway
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/** A loopback `/_emulator/…` control call (no token), trusting the emulator CA; a non-2xx answer is an error. */
async function controlCall(ca: string, url: string, method: string, body: unknown): Promise<unknown> {
  const answer = await controlRequest(ca, url, method, body);
  if (answer.status >= 300) throw new Error(`${method} ${url} answered ${answer.status}: ${answer.text}`);
  return answer.body;
}

/** A loopback `/_emulator/…` control call (no token), trusting the emulator CA: status, text and parsed body. */
function controlRequest(ca: string, url: string, method: string, body: unknown): Promise<{ status: number; body: any; text: string }> {
  return new Promise((resolvePromise, reject) => {
    const payload = body === undefined ? "" : JSON.stringify(body);
    const headers = payload === "" ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) };
    const req = httpsRequest(url, { method, ca, agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let parsed: unknown = {};
        try {
          parsed = text === "" ? {} : JSON.parse(text);
        } catch {
          // not JSON: the text is still there for the error message
        }
        resolvePromise({ status: res.statusCode ?? 0, body: parsed, text });
      });
    });
    req.on("error", reject);
    req.end(payload);
  });
}
export { repoRoot } from "./repoRoot";
