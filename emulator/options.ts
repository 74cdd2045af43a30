/**
 * EmulatorOptions (what startEmulator takes) and the CLI flag parser that produces them.
 * Instance syntax: `NAME=PORT[,security-domain=OTHER|,recovery][,purge-protection=true][,retention-days=7..90]`.
 */
import type { EmulatorServices } from "./http/requestContext";
import { isGuid } from "./identity/tokenRequest";
import type { RouteTable } from "./http/routes";
import { DEFAULT_CAPACITY, type CapacitySettings } from "./capacity/capacityModel";
import type { InstanceKind } from "./instanceKind";
import type { RunningEmulator } from "./server";

export interface InstanceSpec {
  kind: InstanceKind;
  name: string;
  /** 0 = ephemeral. */
  port: number;
  /** HSM only: share the security domain of this other HSM (e.g. a DR HSM sharing "primary"'s). */
  securityDomain?: string;
  /** Purge protection (default false): purge refused until scheduledPurgeDate. */
  purgeProtection?: boolean;
  /** Soft-delete retention in days, 7..90 (default 90). */
  softDeleteRetentionDays?: number;
  /** HSM only: its own capacity model, or false for none; default: EmulatorOptions.capacity. */
  capacity?: CapacitySettings | false;
  /** HSM only: start as a new, not activated HSM awaiting a security domain download or upload (first start). */
  recovery?: boolean;
}

export interface TopicSpec {
  name: string;
  port: number;
}

export interface SubscriptionSpec {
  source: string;
  url: string;
  types?: string[];
}

/** Adds routes to the shared route table (admin: /backup, /restore, ...). */
export type RouteModule = (table: RouteTable, services: EmulatorServices) => void;

/** Something started after the instances (e.g. Event Grid topics); may add ready-line entries. */
export interface PluginHandle {
  readyInstances?: Record<string, { kind: string; url: string }>;
  close(): Promise<void>;
}
export type EmulatorPlugin = (emulator: RunningEmulator) => Promise<PluginHandle>;

export interface EmulatorOptions {
  stateDir: string;
  instances: InstanceSpec[];
  topics?: TopicSpec[];
  blobConnectionString?: string;
  /** Principals granted the admin roles at "/" on first start. */
  admins?: string[];
  /** Full restore needs a full backup of the target at most this many minutes old (default 30). */
  restoreBackupWindowMinutes?: number;
  subscriptions?: SubscriptionSpec[];
  routeModules?: RouteModule[];
  plugins?: EmulatorPlugin[];
  /** Period of the background tick that runs due automatic rotations and purges (default 5000 ms). */
  tickIntervalMs?: number;
  /** stderr logger; default writes to process.stderr. */
  log?: (line: string) => void;
  /**
   * App Service-style managed identity endpoint (http on 127.0.0.1, `--identity PORT`); `defaultOid` is the
   * system-assigned identity's oid (`--identity-default-oid`), else requests without client_id get 400;
   * `clientIds` are the user-assigned identities that get tokens (`--managed-identity CLIENT_ID`), any other
   * client id gets 400.
   */
  identity?: { port: number; defaultOid?: string; clientIds?: string[] };
  /**
   * `--azure-host-names`: instances serve a leaf certificate that also covers *.managedhsm.azure.net and
   * *.vault.azure.net (issued by the emulator's own CA), for tools reached through a hosts entry.
   */
  azureHostNames?: boolean;
  /**
   * Opt-in model of Managed HSM throughput (`--capacity [--partitions N] [--time-scale N] [--queue-limit N]`):
   * every HSM instance gets its own model with these settings. Absent: no limits (vaults are never modelled).
   */
  capacity?: CapacitySettings;
}

export class UsageError extends Error {
  override name = "UsageError";
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9-]{0,39}$/;

export function parseInstanceSpec(kind: InstanceKind, text: string): InstanceSpec {
  const [head, ...extras] = text.split(",");
  const m = /^([^=]+)=(\d+)$/.exec(head ?? "");
  if (!m) throw new UsageError(`Invalid --${kind === "managedHsm" ? "hsm" : "vault"} value "${text}": expected NAME=PORT (PORT 0 picks a free port).`);
  const name = m[1] as string;
  const port = Number(m[2]);
  if (!NAME.test(name)) throw new UsageError(`Invalid instance name "${name}": use letters, digits and dashes (max 40).`);
  if (port > 65535) throw new UsageError(`Invalid port ${port} for "${name}": use 0..65535.`);
  const spec: InstanceSpec = { kind, name, port };
  for (const extra of extras) {
    const [k, v] = extra.split("=");
    if (k === "security-domain" && kind === "managedHsm" && v) spec.securityDomain = v;
    else if (k === "recovery" && kind === "managedHsm" && v === undefined) spec.recovery = true;
    else if (k === "purge-protection" && (v === "true" || v === "false")) spec.purgeProtection = v === "true";
    else if (k === "retention-days" && v !== undefined && /^\d+$/.test(v)) spec.softDeleteRetentionDays = Number(v);
    else throw new UsageError(`Unknown or invalid instance option "${extra}" in "${text}". Known: ${kind === "managedHsm" ? "security-domain=OTHER, recovery, " : ""}purge-protection=true|false, retention-days=7..90.`);
  }
  return spec;
}

function validateCapacity(c: CapacitySettings, where: string): void {
  if (!Number.isInteger(c.partitions) || c.partitions < 1 || c.partitions > 3) throw new UsageError(`${where}: partitions must be 1, 2 or 3 (got ${c.partitions}); a Managed HSM has three.`);
  if (!(Number.isFinite(c.timeScale) && c.timeScale > 0 && c.timeScale <= 10_000)) throw new UsageError(`${where}: time scale must be a number above 0 and at most 10000 (got ${c.timeScale}).`);
  if (!Number.isInteger(c.queueLimit) || c.queueLimit < 0 || c.queueLimit > 1_000_000) throw new UsageError(`${where}: queue limit must be a whole number 0..1000000 (got ${c.queueLimit}).`);
}

export function validateOptions(o: EmulatorOptions): void {
  if (o.capacity !== undefined) validateCapacity(o.capacity, "--capacity");
  const names = new Set<string>();
  for (const i of o.instances) {
    if (names.has(i.name)) throw new UsageError(`Instance name "${i.name}" is used twice; names must be unique.`);
    names.add(i.name);
    const days = i.softDeleteRetentionDays ?? 90;
    if (!Number.isInteger(days) || days < 7 || days > 90) throw new UsageError(`retention-days for "${i.name}" must be 7..90 (got ${days}).`);
    if (i.capacity !== undefined && i.capacity !== false) validateCapacity(i.capacity, `capacity of "${i.name}"`);
  }
  for (const i of o.instances) {
    if (i.securityDomain === undefined) continue;
    const other = o.instances.find((x) => x.name === i.securityDomain);
    if (other === undefined || other.kind !== "managedHsm") throw new UsageError(`"${i.name}" shares the security domain of "${i.securityDomain}", which is not an --hsm instance.`);
    if (i.recovery === true) throw new UsageError(`"${i.name}" cannot both start in recovery mode and share "${i.securityDomain}"'s security domain: a recovery HSM takes its domain by upload.`);
    if (other.recovery === true) throw new UsageError(`"${i.name}" cannot share the security domain of "${other.name}", which starts in recovery mode (its domain is not settled yet).`);
    if (other.securityDomain !== undefined && other.securityDomain !== other.name) throw new UsageError(`"${i.securityDomain}" itself shares another HSM's security domain; point "${i.name}" at the owner instead.`);
  }
}

export interface ParsedCli {
  command: "serve" | "token";
  options: EmulatorOptions;
  token?: { oid: string; audience: string; expiresInSeconds?: number };
}

/** Parses argv (without node and script). Throws UsageError for unknown flags or bad values. */
export function parseCli(argv: string[]): ParsedCli {
  const args = [...argv];
  let command: "serve" | "token" = "serve";
  if (args[0] === "token") {
    command = "token";
    args.shift();
  }
  const options: EmulatorOptions = { stateDir: ".hsm-emulator", instances: [], topics: [], admins: [], subscriptions: [] };
  let oid: string | undefined;
  let audience = "https://managedhsm.azure.net";
  let expiresInSeconds: number | undefined;
  let identityDefaultOid: string | undefined;
  const managedIdentities: string[] = [];
  let capacityOn = false;
  const capacity: Partial<CapacitySettings> = {};
  const capacityFlags: string[] = [];
  const value = (flag: string, i: number): string => {
    const v = args[i + 1];
    if (v === undefined || v.startsWith("--")) throw new UsageError(`${flag} needs a value.`);
    return v;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const [flag, inline] = a.includes("=") && a.startsWith("--") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const take = (): string => {
      if (inline !== undefined) return inline;
      const v = value(flag, i);
      i++;
      return v;
    };
    switch (flag) {
      case "--state-dir":
        options.stateDir = take();
        break;
      case "--hsm":
        if (command === "token") throw new UsageError("--hsm is not a token option.");
        options.instances.push(parseInstanceSpec("managedHsm", take()));
        break;
      case "--vault":
        if (command === "token") throw new UsageError("--vault is not a token option.");
        options.instances.push(parseInstanceSpec("vault", take()));
        break;
      case "--topic": {
        const t = take();
        const m = /^([A-Za-z0-9][A-Za-z0-9-]*)=(\d+)$/.exec(t);
        if (!m) throw new UsageError(`Invalid --topic value "${t}": expected NAME=PORT.`);
        options.topics?.push({ name: m[1] as string, port: Number(m[2]) });
        break;
      }
      case "--blob":
        options.blobConnectionString = take();
        break;
      case "--admin":
        options.admins?.push(take());
        break;
      case "--identity": {
        if (command === "token") throw new UsageError("--identity is not a token option.");
        const v = take();
        if (!/^\d+$/.test(v) || Number(v) > 65535) throw new UsageError(`Invalid --identity value "${v}": expected a PORT (0 picks a free port).`);
        options.identity = { ...(options.identity ?? {}), port: Number(v) };
        break;
      }
      case "--identity-default-oid": {
        if (command === "token") throw new UsageError("--identity-default-oid is not a token option.");
        const v = take();
        if (v.trim() === "") throw new UsageError("--identity-default-oid needs a non-empty object id.");
        identityDefaultOid = v;
        break;
      }
      case "--azure-host-names":
        if (command === "token") throw new UsageError("--azure-host-names is not a token option.");
        if (inline !== undefined) throw new UsageError("--azure-host-names takes no value.");
        options.azureHostNames = true;
        break;
      case "--managed-identity": {
        if (command === "token") throw new UsageError("--managed-identity is not a token option.");
        const v = take();
        if (!isGuid(v)) throw new UsageError(`Invalid --managed-identity value "${v}": expected the user-assigned identity's client id (a GUID).`);
        managedIdentities.push(v.toLowerCase());
        break;
      }
      case "--restore-backup-window-minutes": {
        const v = take();
        if (!/^\d+$/.test(v)) throw new UsageError(`--restore-backup-window-minutes needs a whole number of minutes (got "${v}").`);
        options.restoreBackupWindowMinutes = Number(v);
        break;
      }
      case "--subscribe": {
        const v = take();
        const m = /^([^=]+)=(https?:\/\/[^,]+)(?:,types=(.+))?$/.exec(v);
        if (!m) throw new UsageError(`Invalid --subscribe value "${v}": expected SOURCE=URL[,types=T1;T2].`);
        const sub: SubscriptionSpec = { source: m[1] as string, url: m[2] as string };
        if (m[3]) sub.types = m[3].split(";").filter((s) => s !== "");
        options.subscriptions?.push(sub);
        break;
      }
      case "--capacity":
        if (command === "token") throw new UsageError("--capacity is not a token option.");
        if (inline !== undefined) throw new UsageError("--capacity takes no value; set it up with --partitions, --time-scale and --queue-limit.");
        capacityOn = true;
        break;
      case "--partitions":
      case "--time-scale":
      case "--queue-limit": {
        if (command === "token") throw new UsageError(`${flag} is not a token option.`);
        const v = take();
        const n = Number(v);
        if (v.trim() === "" || !Number.isFinite(n)) throw new UsageError(`${flag} needs a number (got "${v}").`);
        if (flag === "--partitions") capacity.partitions = n;
        else if (flag === "--time-scale") capacity.timeScale = n;
        else capacity.queueLimit = n;
        capacityFlags.push(flag);
        break;
      }
      case "--oid":
        if (command !== "token") throw new UsageError("--oid belongs to the token subcommand: main.js token --state-dir DIR --oid OID.");
        oid = take();
        break;
      case "--audience":
      case "--resource": {
        if (command !== "token") throw new UsageError(`${flag} belongs to the token subcommand.`);
        const v = take();
        audience = v === "vault" ? "https://vault.azure.net" : v === "managedhsm" || v === "hsm" ? "https://managedhsm.azure.net" : v.replace(/\/$/, "");
        break;
      }
      case "--expires-in": {
        if (command !== "token") throw new UsageError("--expires-in belongs to the token subcommand.");
        const v = take();
        if (!/^\d+$/.test(v)) throw new UsageError("--expires-in needs seconds.");
        expiresInSeconds = Number(v);
        break;
      }
      default:
        throw new UsageError(`Unknown argument "${a}". Usage: main.js [--state-dir DIR] [--hsm NAME=PORT[,security-domain=OTHER|,recovery]]... [--vault NAME=PORT]... [--topic NAME=PORT]... [--blob CONNECTION_STRING] [--admin OID]... [--restore-backup-window-minutes N] [--subscribe SOURCE=URL[,types=T1;T2]]... [--identity PORT [--identity-default-oid OID] [--managed-identity CLIENT_ID]...] [--azure-host-names] [--capacity [--partitions 1..3] [--time-scale N] [--queue-limit N]]  |  main.js token --state-dir DIR --oid OID [--audience managedhsm|vault|URL] [--expires-in SECONDS]`);
    }
  }
  if (command === "token") {
    if (oid === undefined) throw new UsageError("token needs --oid OID.");
    const token: ParsedCli["token"] = { oid, audience };
    if (expiresInSeconds !== undefined) token.expiresInSeconds = expiresInSeconds;
    return { command, options, token };
  }
  if (identityDefaultOid !== undefined) {
    if (options.identity === undefined) throw new UsageError("--identity-default-oid needs --identity PORT (the identity endpoint it configures).");
    options.identity.defaultOid = identityDefaultOid;
  }
  if (managedIdentities.length > 0) {
    if (options.identity === undefined) throw new UsageError("--managed-identity needs --identity PORT (the identity endpoint that issues its tokens).");
    options.identity.clientIds = managedIdentities;
  }
  if (capacityFlags.length > 0 && !capacityOn) throw new UsageError(`${capacityFlags.join(", ")} configure the capacity model, which is off: add --capacity to turn it on.`);
  if (capacityOn) options.capacity = { ...DEFAULT_CAPACITY, ...capacity };
  validateOptions(options);
  return { command, options };
}
