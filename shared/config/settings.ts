import { parseRbacPrincipals, type RbacPrincipals } from "../rbac/rbacPrincipals";
import { LifecycleError } from "../errors/lifecycleError";
import { exactMs, isIsoDuration, parseIsoDuration } from "../rotation/isoDuration";
import { isLoopbackHost } from "./loopbackHost";
import { ncrontabProblem } from "./ncrontab";
import { settingsCatalog } from "./settingsCatalog";

export type InstanceKind = "managedHsm" | "vault";

/** One configured HSM or vault. `url` is the normalised origin (`https://host[:port]`, no path). */
export interface InstanceSetting {
  name: string;
  kind: InstanceKind;
  url: string;
  /** "primary": swept, rotated (and, for HSMs, backed up). "drillTarget": only ever restored into by a drill. */
  role: "primary" | "drillTarget";
}

export interface DrillPair {
  primary: string;
  target: string;
  primaryUrl: string;
  targetUrl: string;
}

export interface Settings {
  hsms: readonly InstanceSetting[];
  vaults: readonly InstanceSetting[];
  drillPairs: readonly DrillPair[];
  /** HSM_RESOURCE_IDS: HSM name → ARM resource id; the drill interlock's source of HSM identities in Azure. */
  hsmResourceIds: Readonly<Record<string, string>>;
  rotation: {
    policyFile: string;
    batchSize: number;
    /** HSM_CREATE_RATE: key creations (rotations) per second each instance is asked for; 0 = not paced. */
    createRate: { default: number; byInstance: Readonly<Record<string, number>> };
    /** ROTATION_PACING_CONTAINER: where the per-instance pacing slots live (shared by every worker). */
    pacingContainer: string;
  };
  schedules: { sweep: string; backup: string; drill: string; reverify: string };
  storage: {
    /** Set when the app uses its managed identity. */
    accountUrl?: string;
    /** Set for local development (Azurite); a secret. */
    connectionString?: string;
    backupContainer: string;
    backupAuth: "managedIdentity" | "sas";
    backupCopyContainerUrl?: string;
    /** BACKUP_MANIFEST_KEY (base64, a secret): authenticates manifests and their state; required with any HSM. */
    manifestKey?: string;
    drillReportsContainer: string;
    auditContainer: string;
  };
  retention: { daily: number; weekly: number; monthly: number };
  objectives: { rtoMs: number; rpoMs: number };
  adminJobTimeoutMs: number;
  /** `BACKUP_DEADLINE`: transient failures of a backup are retried until its start plus this. */
  backupDeadlineMs: number;
  pollerIntervalMs: number;
  tlsCaFile?: string;
  /**
   * HSM_EMULATOR=true: the HSMs and vaults are the local emulator, which answers challenges for the real
   * resource names from a loopback address. Only then, and only for loopback hosts, is the SDK's
   * challenge-resource check off and the emulator's self-report used for HSM identities.
   */
  emulatorMode: boolean;
  lifecycleTopic: { endpoint: string; key?: string };
  /** EVENT_SOURCES: ARM ids (Event Grid `topic` / CloudEvents `source`) the remediation trigger accepts. */
  eventSources: readonly string[];
  /** Client ids of the user-assigned managed identities each workflow runs as; absent = system-assigned. */
  identities: { rotation?: string; backup?: string; retention?: string; drill?: string; steward?: string; recovery?: string };
  /** RBAC_PRINCIPAL_IDS: object ids the RBAC plan assigns roles to. */
  rbacPrincipals: RbacPrincipals;
  /** RBAC_ADMIN_CLIENT_ID: the managed identity `rbac` and `status` use for RBAC (absent: --credential default). */
  rbacAdminClientId?: string;
  /** LIFECYCLE_LOG_*: the data collection rule the lifecycle rows go to (absent: the local row store). */
  lifecycleLog?: { endpoint: string; ruleId: string; identityClientId?: string };
}

/**
 * Reads and validates the app settings. The only reader of `process.env` in the app; pure otherwise (no I/O,
 * no files read: paths are checked where they are used). Throws ONE `LifecycleError("SettingsInvalid")`
 * that lists every missing or invalid key, so a deployment is fixed in one round. Secret values are never
 * echoed.
 *
 * Example:
 * ```ts
 * const settings = loadSettings();            // process.env
 * const test = loadSettings({ HSMS: "primary=https://127.0.0.1:8443", ... });
 * ```
 */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Readonly<Settings> {
  const problems: string[] = [];
  const read = (key: string): string => {
    const raw = env[key];
    if (raw !== undefined && raw.trim() !== "") return raw.trim();
    return settingsCatalog.find((s) => s.key === key)?.default ?? "";
  };
  const bad = (key: string, why: string): void => {
    problems.push(`${key} ${why}`);
  };

  // --- Instances -------------------------------------------------------------------------------------------
  const hsmPairs = parsePairs("HSMS", read("HSMS"), bad, true);
  const vaultPairs = parsePairs("VAULTS", read("VAULTS"), bad, false);
  const drillRaw = parsePairs("DRILL_PAIRS", read("DRILL_PAIRS"), bad, false);

  const hsmUrls = new Map<string, string>();
  for (const [name, value] of hsmPairs) {
    const url = normaliseServiceUrl("HSMS", name, value, bad);
    if (url !== undefined) hsmUrls.set(name, url);
  }
  const vaultUrls = new Map<string, string>();
  for (const [name, value] of vaultPairs) {
    if (hsmPairs.has(name)) bad("VAULTS", `reuses the name "${name}" already used in HSMS; names must be unique across HSMS and VAULTS.`);
    const url = normaliseServiceUrl("VAULTS", name, value, bad);
    if (url !== undefined) vaultUrls.set(name, url);
  }

  const targets = new Set<string>();
  const drillPairs: DrillPair[] = [];
  for (const [primary, target] of drillRaw) {
    const primaryUrl = hsmUrls.get(primary);
    const targetUrl = hsmUrls.get(target);
    if (!hsmPairs.has(primary)) bad("DRILL_PAIRS", `names "${primary}" as a primary, but HSMS has no HSM of that name.`);
    if (!hsmPairs.has(target)) bad("DRILL_PAIRS", `names "${target}" as a drill target, but HSMS has no HSM of that name.`);
    if (primary === target) bad("DRILL_PAIRS", `pairs "${primary}" with itself; a drill would overwrite the primary. Configure a separate DR HSM.`);
    targets.add(target);
    if (primaryUrl !== undefined && targetUrl !== undefined) drillPairs.push({ primary, target, primaryUrl, targetUrl });
  }
  for (const target of targets) {
    if (drillRaw.has(target)) bad("DRILL_PAIRS", `uses "${target}" both as a primary and as a drill target; a drill target is never a primary.`);
  }
  const hsms: InstanceSetting[] = [...hsmUrls].map(([name, url]) => ({
    name,
    kind: "managedHsm",
    url,
    role: targets.has(name) ? "drillTarget" : "primary",
  }));
  // Safety interlock: a drill target must not be reachable as any primary under another name.
  for (const t of hsms.filter((h) => h.role === "drillTarget")) {
    const clash = hsms.find((h) => h.role === "primary" && h.url === t.url);
    if (clash !== undefined) {
      bad("DRILL_PAIRS", `drill target "${t.name}" has the same URL as primary "${clash.name}" (${t.url}); a drill would overwrite production keys.`);
    }
  }
  const seenUrls = new Map<string, string>();
  for (const i of [...hsms, ...[...vaultUrls].map(([name, url]) => ({ name, url }))]) {
    const other = seenUrls.get(i.url);
    if (other !== undefined && !(targets.has(i.name) || targets.has(other))) {
      bad(hsmUrls.has(i.name) ? "HSMS" : "VAULTS", `lists ${i.url} twice ("${other}" and "${i.name}"); each instance must be configured once or its keys would rotate twice.`);
    }
    seenUrls.set(i.url, i.name);
  }
  const vaults: InstanceSetting[] = [...vaultUrls].map(([name, url]) => ({ name, kind: "vault", url, role: "primary" }));
  const hsmResourceIds: Record<string, string> = {};
  for (const [name, id] of parsePairs("HSM_RESOURCE_IDS", read("HSM_RESOURCE_IDS"), bad, false)) {
    if (!hsmPairs.has(name)) bad("HSM_RESOURCE_IDS", `names "${name}", which is not an HSM in HSMS.`);
    else if (!/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.KeyVault\/managedHSMs\/[A-Za-z0-9-]{3,24}$/i.test(id)) {
      bad("HSM_RESOURCE_IDS", `"${name}" has "${id}", which is not a Managed HSM resource id (/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.KeyVault/managedHSMs/<name>).`);
    } else hsmResourceIds[name] = id;
  }

  // --- Rotation, schedules -----------------------------------------------------------------------------------
  const policyFile = read("ROTATION_POLICY_FILE");
  const batchSize = intSetting("ROTATION_BATCH_SIZE", read("ROTATION_BATCH_SIZE"), 1, 200, bad);
  const createRate = createRateSetting(read("HSM_CREATE_RATE"), new Set([...hsms.map((h) => h.name), ...vaults.map((v) => v.name)]), bad);
  const schedule = (key: string): string => {
    const v = read(key);
    const why = ncrontabProblem(v);
    if (why !== undefined) bad(key, `"${v}" ${why}.`);
    return v;
  };
  const schedules = { sweep: schedule("SWEEP_SCHEDULE"), backup: schedule("BACKUP_SCHEDULE"), drill: schedule("DRILL_SCHEDULE"), reverify: schedule("BACKUP_REVERIFY_SCHEDULE") };

  // --- Storage ----------------------------------------------------------------------------------------------
  const accountUrlRaw = read("STORAGE_ACCOUNT_URL");
  const connectionString = read("STORAGE_CONNECTION_STRING");
  let accountUrl: string | undefined;
  if (accountUrlRaw !== "") accountUrl = plainUrl("STORAGE_ACCOUNT_URL", accountUrlRaw, bad, true);
  if (accountUrlRaw === "" && connectionString === "") {
    bad("STORAGE_ACCOUNT_URL", "is missing (or set STORAGE_CONNECTION_STRING): backups, manifests, drill reports and audit records need a storage account.");
  }
  if (connectionString !== "" && !/(^|;)\s*(UseDevelopmentStorage=true|BlobEndpoint=|AccountName=)/i.test(connectionString)) {
    bad("STORAGE_CONNECTION_STRING", "is not a storage connection string (expected AccountName=…;AccountKey=… or BlobEndpoint=…, or UseDevelopmentStorage=true).");
  }
  const container = (key: string): string => {
    const v = read(key);
    if (!/^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(v)) {
      bad(key, `"${v}" is not a valid container name (3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit).`);
    }
    return v;
  };
  const backupContainer = container("BACKUP_CONTAINER");
  const drillReportsContainer = container("DRILL_REPORTS_CONTAINER");
  const auditContainer = container("AUDIT_CONTAINER");
  const pacingContainer = container("ROTATION_PACING_CONTAINER");
  const backupAuthRaw = read("BACKUP_AUTH");
  if (backupAuthRaw !== "managedIdentity" && backupAuthRaw !== "sas") bad("BACKUP_AUTH", `"${backupAuthRaw}" must be "managedIdentity" or "sas".`);
  const backupAuth = backupAuthRaw === "sas" ? "sas" : "managedIdentity";
  const copyRaw = read("BACKUP_COPY_CONTAINER_URL");
  const backupCopyContainerUrl = copyRaw === "" ? undefined : plainUrl("BACKUP_COPY_CONTAINER_URL", copyRaw, bad, false);
  // Without it retention and drills could not tell our manifests from forged ones: required whenever HSMs are backed up.
  const manifestKey = read("BACKUP_MANIFEST_KEY");
  if (manifestKey === "" && hsmUrls.size > 0) {
    bad("BACKUP_MANIFEST_KEY", "is missing: backups need a manifest authentication key. Fix: `openssl rand -base64 32`, stored as a Key Vault reference.");
  } else if (manifestKey !== "" && Buffer.from(manifestKey, "base64").length < 32) {
    bad("BACKUP_MANIFEST_KEY", "must be at least 32 random bytes, base64-encoded (e.g. `openssl rand -base64 32`).");
  }

  // --- Retention, jobs, objectives --------------------------------------------------------------------------
  const retention = {
    daily: intSetting("RETENTION_DAILY", read("RETENTION_DAILY"), 1, 3650, bad),
    weekly: intSetting("RETENTION_WEEKLY", read("RETENTION_WEEKLY"), 0, 520, bad),
    monthly: intSetting("RETENTION_MONTHLY", read("RETENTION_MONTHLY"), 0, 1200, bad),
  };
  const adminJobTimeoutMs = durationSetting("ADMIN_JOB_TIMEOUT", read("ADMIN_JOB_TIMEOUT"), bad);
  const backupDeadlineMs = durationSetting("BACKUP_DEADLINE", read("BACKUP_DEADLINE"), bad);
  const pollerIntervalMs = intSetting("POLLER_INTERVAL_MS", read("POLLER_INTERVAL_MS"), 0, 600_000, bad);
  const objectives = {
    rtoMs: durationSetting("RTO_TARGET", read("RTO_TARGET"), bad),
    rpoMs: durationSetting("RPO_TARGET", read("RPO_TARGET"), bad),
  };

  // --- Events, TLS ------------------------------------------------------------------------------------------
  const topicRaw = read("LIFECYCLE_TOPIC_ENDPOINT");
  let topicEndpoint = "";
  if (topicRaw === "") bad("LIFECYCLE_TOPIC_ENDPOINT", "is missing: set the https endpoint of the Event Grid topic that receives lifecycle events.");
  else topicEndpoint = plainUrl("LIFECYCLE_TOPIC_ENDPOINT", topicRaw, bad, false) ?? "";
  const topicKey = read("LIFECYCLE_TOPIC_KEY");
  const eventSources: string[] = [];
  for (const source of read("EVENT_SOURCES").split(",").map((p) => p.trim()).filter((p) => p !== "")) {
    // ARM ids as Event Grid stamps them: a typo here would silently drop every event from that source.
    if (!/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.[A-Za-z]+\/[A-Za-z]+\/[^/]+$/i.test(source)) {
      bad("EVENT_SOURCES", `entry "${source}" is not an ARM resource id like /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.KeyVault/vaults/<name> (or .../Microsoft.EventGrid/topics/<name>).`);
    } else eventSources.push(source);
  }
  const tlsCaFile = read("HSM_TLS_CA_FILE");
  const emulatorRaw = read("HSM_EMULATOR").toLowerCase();
  if (emulatorRaw !== "true" && emulatorRaw !== "false") bad("HSM_EMULATOR", `"${emulatorRaw}" must be "true" or "false".`);
  const emulatorMode = emulatorRaw === "true";
  if (emulatorMode) {
    // Emulator mode relaxes token-audience checks; it must never apply to a real (or look-alike) service.
    for (const [key, urls] of [["HSMS", hsmUrls], ["VAULTS", vaultUrls]] as const) {
      for (const [name, url] of urls) {
        if (!isLoopbackHost(new URL(url).hostname)) bad("HSM_EMULATOR", `is true but ${key} "${name}" is not on a loopback address (${url}); emulator mode is for the local emulator only. Fix: set HSM_EMULATOR=false (Azure) or point ${key} at the emulator.`);
      }
    }
  }
  const identities: Settings["identities"] = {};
  for (const [workload, key] of [["rotation", "ROTATION_IDENTITY_CLIENT_ID"], ["backup", "BACKUP_IDENTITY_CLIENT_ID"], ["retention", "RETENTION_IDENTITY_CLIENT_ID"], ["drill", "DRILL_IDENTITY_CLIENT_ID"], ["steward", "DR_STEWARD_IDENTITY_CLIENT_ID"], ["recovery", "RECOVERY_IDENTITY_CLIENT_ID"]] as const) {
    const clientId = read(key);
    if (clientId === "") continue;
    if (!/^[0-9a-fA-F-]{8,64}$/.test(clientId)) bad(key, "must be the client id (a GUID) of a user-assigned managed identity, or empty for the system-assigned identity.");
    else identities[workload] = clientId;
  }
  const { principals: rbacPrincipals, problems: principalProblems } = parseRbacPrincipals(read("RBAC_PRINCIPAL_IDS"));
  for (const p of principalProblems) bad("RBAC_PRINCIPAL_IDS", p);
  const rbacAdminClientId = read("RBAC_ADMIN_CLIENT_ID");
  if (rbacAdminClientId !== "" && !/^[0-9a-fA-F-]{8,64}$/.test(rbacAdminClientId)) bad("RBAC_ADMIN_CLIENT_ID", "must be the client id (a GUID) of a managed identity, or empty.");

  const logEndpointRaw = read("LIFECYCLE_LOG_ENDPOINT");
  const logRuleId = read("LIFECYCLE_LOG_RULE_ID");
  const logIdentity = read("LIFECYCLE_LOG_IDENTITY_CLIENT_ID");
  const logEndpoint = logEndpointRaw === "" ? undefined : plainUrl("LIFECYCLE_LOG_ENDPOINT", logEndpointRaw, bad, false);
  if ((logEndpointRaw === "") !== (logRuleId === "")) bad(logRuleId === "" ? "LIFECYCLE_LOG_RULE_ID" : "LIFECYCLE_LOG_ENDPOINT", "must be set together with the other LIFECYCLE_LOG_ setting (the data collection endpoint and rule the lifecycle rows go to).");
  if (logRuleId !== "" && !/^dcr-[0-9a-f]{32}$/i.test(logRuleId)) bad("LIFECYCLE_LOG_RULE_ID", `"${logRuleId}" is not a data collection rule's immutable id (dcr- and 32 hex digits).`);
  if (logIdentity !== "" && !/^[0-9a-fA-F-]{8,64}$/.test(logIdentity)) bad("LIFECYCLE_LOG_IDENTITY_CLIENT_ID", "must be the client id (a GUID) of a managed identity, or empty.");

  if (problems.length > 0) {
    throw new LifecycleError(
      "SettingsInvalid",
      `${problems.length} app setting problem${problems.length === 1 ? "" : "s"}: ${problems.join(" | ")} Fix: correct them in the app settings (local: local.settings.json Values; see local.settings.sample.json).`,
    );
  }

  const storage: Settings["storage"] = { backupContainer, backupAuth, drillReportsContainer, auditContainer };
  if (accountUrl !== undefined) storage.accountUrl = accountUrl;
  if (connectionString !== "") storage.connectionString = connectionString;
  if (backupCopyContainerUrl !== undefined) storage.backupCopyContainerUrl = backupCopyContainerUrl;
  if (manifestKey !== "") storage.manifestKey = manifestKey;
  const settings: Settings = {
    hsms,
    vaults,
    drillPairs,
    hsmResourceIds,
    rotation: { policyFile, batchSize, createRate, pacingContainer },
    schedules,
    storage,
    retention,
    objectives,
    adminJobTimeoutMs,
    backupDeadlineMs,
    pollerIntervalMs,
    lifecycleTopic: topicKey === "" ? { endpoint: topicEndpoint } : { endpoint: topicEndpoint, key: topicKey },
    eventSources,
    identities,
    rbacPrincipals,
    emulatorMode,
  };
  if (tlsCaFile !== "") settings.tlsCaFile = tlsCaFile;
  if (logEndpoint !== undefined && logRuleId !== "") settings.lifecycleLog = { endpoint: logEndpoint, ruleId: logRuleId, ...(logIdentity === "" ? {} : { identityClientId: logIdentity }) };
  if (rbacAdminClientId !== "") settings.rbacAdminClientId = rbacAdminClientId;
  return deepFreeze(settings);
}

/** The instances the sweep and rotation act on: primary HSMs and every vault (drill targets never). */
export function rotationInstances(settings: Settings): readonly InstanceSetting[] {
  return [...settings.hsms.filter((h) => h.role === "primary"), ...settings.vaults];
}

/** A copy safe to log: secrets replaced by "<set>". */
export function redactSettings(settings: Settings): unknown {
  return {
    ...settings,
    storage: {
      ...settings.storage,
      connectionString: settings.storage.connectionString === undefined ? undefined : "<set>",
      manifestKey: settings.storage.manifestKey === undefined ? undefined : "<set>",
    },
    lifecycleTopic: { ...settings.lifecycleTopic, key: settings.lifecycleTopic.key === undefined ? undefined : "<set>" },
  };
}

type Bad = (key: string, why: string) => void;

const instanceName = /^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/;

function parsePairs(key: string, raw: string, bad: Bad, required: boolean): Map<string, string> {
  const out = new Map<string, string>();
  if (raw === "") {
    if (required) bad(key, "is missing: list instances as name=https://url pairs separated by commas, e.g. primary=https://contoso.managedhsm.azure.net.");
    return out;
  }
  for (const part of raw.split(",").map((p) => p.trim()).filter((p) => p !== "")) {
    const eq = part.indexOf("=");
    const name = eq === -1 ? "" : part.slice(0, eq).trim();
    const value = eq === -1 ? "" : part.slice(eq + 1).trim();
    if (eq === -1 || value === "") {
      bad(key, `entry "${part}" is not name=value.`);
      continue;
    }
    if (!instanceName.test(name)) {
      bad(key, `entry name "${name}" must be 1-63 letters, digits or hyphens, starting with a letter or digit.`);
      continue;
    }
    if (out.has(name)) {
      bad(key, `names "${name}" twice; names must be unique.`);
      continue;
    }
    out.set(name, value);
  }
  return out;
}

const loopback = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** Validates an instance URL and returns its origin; errors name the setting and the instance. */
function normaliseServiceUrl(key: string, name: string, value: string, bad: Bad): string | undefined {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    bad(key, `"${name}" has "${value}", which is not a URL.`);
    return undefined;
  }
  if (u.protocol !== "https:") {
    bad(key, `"${name}" must use https (the Key Vault SDK refuses plain http).`);
    return undefined;
  }
  if ((u.pathname !== "/" && u.pathname !== "") || u.search !== "" || u.hash !== "" || u.username !== "" || u.password !== "") {
    bad(key, `"${name}" must be the instance origin only (https://host[:port]), without path, query or credentials.`);
    return undefined;
  }
  return u.origin.toLowerCase();
}

/** A URL without query or credentials; http only on loopback (Azurite, the emulator). */
function plainUrl(key: string, value: string, bad: Bad, allowLoopbackHttp: boolean): string | undefined {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    bad(key, "is not a URL.");
    return undefined;
  }
  if (u.search !== "" || u.username !== "" || u.password !== "") {
    bad(key, "must not carry a query string or credentials (no SAS or keys in URLs; use the identity or the *_KEY / connection-string setting).");
    return undefined;
  }
  const httpOk = allowLoopbackHttp && u.protocol === "http:" && loopback.has(u.hostname);
  if (u.protocol !== "https:" && !httpOk) {
    bad(key, `must use https${allowLoopbackHttp ? " (http is accepted only for a loopback emulator such as Azurite)" : ""}.`);
    return undefined;
  }
  return value.replace(/\/+$/, "");
}

/**
 * HSM_CREATE_RATE: `1` (every instance), `primary=3,dr=1` (per instance) or both (`1,primary=3`). Creations per
 * second, fractions allowed (`0.5`), `0` turns pacing off. Names must be configured instances, so a typo does
 * not silently leave an HSM at the default.
 */
function createRateSetting(raw: string, names: ReadonlySet<string>, bad: Bad): Settings["rotation"]["createRate"] {
  const out: { default: number; byInstance: Record<string, number> } = { default: 1, byInstance: {} };
  const rate = (text: string, what: string): number | undefined => {
    if (!/^\d+(\.\d+)?$/.test(text) || Number(text) > 1000) {
      bad("HSM_CREATE_RATE", `${what} "${text}" must be a number of creations per second from 0 to 1000 (e.g. 1, 0.5 or 3).`);
      return undefined;
    }
    return Number(text);
  };
  for (const part of raw.split(",").map((p) => p.trim()).filter((p) => p !== "")) {
    const eq = part.indexOf("=");
    if (eq === -1) {
      const r = rate(part, "the default");
      if (r !== undefined) out.default = r;
      continue;
    }
    const name = part.slice(0, eq).trim();
    if (!names.has(name)) {
      bad("HSM_CREATE_RATE", `names "${name}", which is not in HSMS or VAULTS.`);
      continue;
    }
    const r = rate(part.slice(eq + 1).trim(), `the rate of "${name}"`);
    if (r !== undefined) out.byInstance[name] = r;
  }
  return out;
}

function intSetting(key: string, raw: string, min: number, max: number, bad: Bad): number {
  if (!/^\d+$/.test(raw)) {
    bad(key, `"${raw}" must be a whole number from ${min} to ${max}.`);
    return min;
  }
  const n = Number(raw);
  if (n < min || n > max) bad(key, `${n} is out of range; use ${min}..${max}.`);
  return n;
}

function durationSetting(key: string, raw: string, bad: Bad): number {
  // parseIsoDuration's own hint suggests P1Y, which exactMs then refuses: name only forms these settings accept.
  if (!isIsoDuration(raw)) {
    bad(key, `"${raw}" is not an ISO 8601 duration in days, hours, minutes or seconds; use e.g. PT4H, P1D or P1DT12H (no years or months: their length varies).`);
    return 0;
  }
  try {
    const ms = exactMs(parseIsoDuration(raw), "the value");
    if (ms <= 0) bad(key, `"${raw}" must be longer than zero.`);
    return ms;
  } catch (e) {
    bad(key, e instanceof Error ? e.message : String(e));
    return 0;
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
