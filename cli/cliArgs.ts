import { parseCommandLine } from "./parseCommandLine";
import { UsageError } from "./usageError";

export const COMMANDS = ["status", "plan", "rotate", "backup", "drill", "report", "rbac", "requests", "approve", "reject", "recover", "disable"] as const;
/** Commands that take one request id after the command name. */
const DECISIONS = ["approve", "reject"] as const;
export const RBAC_ACTIONS = ["plan", "apply", "check"] as const;
export type CommandName = (typeof COMMANDS)[number];

export interface CliArgs {
  command: CommandName | "help";
  settingsFile?: string;
  credential: "managed-identity" | "default";
  appUrl: string;
  /** --app-url was given (a discovered local stack must not override it). */
  appUrlGiven: boolean;
  json: boolean;
  /** `status --check`: exit 1 when anything needs attention (for monitoring). */
  check: boolean;
  /** Decision instant for status/plan. */
  at?: Date;
  timeoutMs: number;
  instance?: string;
  key?: string;
  dryRun: boolean;
  hsm?: string;
  pair?: string;
  mode: "full" | "selective";
  latest: boolean;
  drill?: string;
  html?: string;
  /** `rotate --now`: an emergency rotation (needs --reason and --ticket; waits for approvals). */
  now: boolean;
  /** `rotate --now --reason compromise|policy|other`, `reject ID --reason TEXT`. */
  reason?: string;
  ticket?: string;
  /** `recover --backup FOLDER`: restore from this backup folder instead of the newest verified one. */
  backupFolder?: string;
  /** `disable --version V`: the superseded key version to disable early. */
  keyVersion?: string;
  /** Local stack only: act as this object id (an emulator token for it). */
  as?: string;
  /** `approve ID` / `reject ID`. */
  requestId?: string;
  /** `rbac plan|apply|check`. */
  rbacAction?: (typeof RBAC_ACTIONS)[number];
}

const options = {
  settings: { type: "string" },
  credential: { type: "string" },
  "app-url": { type: "string" },
  json: { type: "boolean" },
  check: { type: "boolean" },
  at: { type: "string" },
  timeout: { type: "string" },
  instance: { type: "string" },
  key: { type: "string" },
  "dry-run": { type: "boolean" },
  hsm: { type: "string" },
  pair: { type: "string" },
  mode: { type: "string" },
  latest: { type: "boolean" },
  drill: { type: "string" },
  html: { type: "string" },
  now: { type: "boolean" },
  reason: { type: "string" },
  ticket: { type: "string" },
  as: { type: "string" },
  backup: { type: "string" },
  version: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

type Flag = keyof typeof options;

const common: readonly Flag[] = ["settings", "credential", "app-url", "json", "help"];
/** Flags each command accepts beyond the common ones; any other flag is a usage error, not silently ignored. */
const perCommand: Record<CommandName, readonly Flag[]> = {
  status: ["at", "check"],
  plan: ["at"],
  // No --at: a rotation decided "as of" another instant would rotate keys that are not due now.
  rotate: ["instance", "key", "dry-run", "timeout", "now", "reason", "ticket", "as"],
  backup: ["hsm", "timeout"],
  drill: ["pair", "mode", "key", "timeout"],
  report: ["latest", "drill", "html"],
  rbac: ["dry-run"],
  requests: [],
  approve: ["as"],
  reject: ["reason", "as"],
  recover: ["instance", "key", "backup", "reason", "ticket", "as"],
  disable: ["instance", "key", "version", "reason", "ticket", "as"],
};

/** Parses the command line; throws {@link UsageError} (exit 2) for anything it cannot accept. */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  const { values, positionals } = parseCommandLine(argv, options);
  if (values.help === true && positionals.length === 0) return defaults("help");
  const [commandRaw, ...extra] = positionals;
  if (commandRaw === undefined) throw new UsageError("No command given.");
  if (!(COMMANDS as readonly string[]).includes(commandRaw)) throw new UsageError(`Unknown command "${commandRaw}"; use one of ${COMMANDS.join(", ")}.`);
  const command = commandRaw as CommandName;
  const rbacAction = command === "rbac" ? extra.shift() : undefined;
  if (command === "rbac" && values.help !== true && !(RBAC_ACTIONS as readonly (string | undefined)[]).includes(rbacAction)) {
    throw new UsageError(`"rbac" needs one of ${RBAC_ACTIONS.join(", ")}${rbacAction === undefined ? "" : `, not "${rbacAction}"`}.`);
  }
  const requestId = (DECISIONS as readonly string[]).includes(command) && values.help !== true ? extra.shift() : undefined;
  if ((DECISIONS as readonly string[]).includes(command) && values.help !== true && (requestId === undefined || !/^req-[0-9a-z-]{1,80}$/.test(requestId))) {
    throw new UsageError(`"${command}" needs a request id (e.g. ${command} req-20261206t162200z-a1b2c3; see "hsm-lifecycle requests")${requestId === undefined ? "" : `, not "${requestId}"`}.`);
  }
  if (extra.length > 0) throw new UsageError(`Unexpected argument "${extra[0]}" after "${command}".`);
  if (values.help === true) return defaults("help");

  const allowed = new Set<Flag>([...common, ...perCommand[command]]);
  for (const flag of Object.keys(values) as Flag[]) {
    if (!allowed.has(flag)) throw new UsageError(`"${command}" does not take --${flag}.`);
  }
  const args = defaults(command);
  if (rbacAction !== undefined) args.rbacAction = rbacAction as CliArgs["rbacAction"];
  if (args.rbacAction !== undefined && args.rbacAction !== "apply" && values["dry-run"] === true) throw new UsageError(`"rbac ${args.rbacAction}" does not take --dry-run (it changes nothing).`);
  const text = (flag: Flag): string | undefined => {
    const v = values[flag];
    if (v === undefined || typeof v === "boolean") return undefined;
    if (v.trim() === "") throw new UsageError(`--${flag} needs a value.`);
    return v.trim();
  };
  const settingsFile = text("settings");
  if (settingsFile !== undefined) args.settingsFile = settingsFile;
  const credential = text("credential");
  if (credential !== undefined) {
    if (credential !== "managed-identity" && credential !== "default") throw new UsageError(`--credential must be "managed-identity" or "default", not "${credential}".`);
    args.credential = credential;
  }
  const appUrl = text("app-url");
  if (appUrl !== undefined) {
    let u: URL;
    try {
      u = new URL(appUrl);
    } catch {
      throw new UsageError(`--app-url "${appUrl}" is not a URL (e.g. http://127.0.0.1:7071 or https://<app>.azurewebsites.net).`);
    }
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new UsageError(`--app-url must be http(s), not ${u.protocol}`);
    if (u.search !== "" || u.username !== "" || u.password !== "") throw new UsageError("--app-url must not carry a query or credentials; put the key in HSM_LIFECYCLE_FUNCTION_KEY.");
    args.appUrl = appUrl.replace(/\/+$/, "");
    args.appUrlGiven = true;
  }
  args.json = values.json === true;
  args.check = values.check === true;
  const at = text("at");
  if (at !== undefined) {
    const d = new Date(at);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(at) || Number.isNaN(d.getTime())) throw new UsageError(`--at "${at}" is not an ISO 8601 instant like 2026-12-01T00:00:00Z.`);
    args.at = d;
  }
  const timeout = text("timeout");
  if (timeout !== undefined) {
    if (!/^\d+$/.test(timeout) || Number(timeout) < 1) throw new UsageError(`--timeout must be a whole number of seconds ≥ 1, not "${timeout}".`);
    args.timeoutMs = Number(timeout) * 1000;
  }
  const name = (flag: Flag): string | undefined => {
    const v = text(flag);
    if (v !== undefined && !/^[0-9A-Za-z-]{1,127}$/.test(v)) throw new UsageError(`--${flag} "${v}" is not a name (letters, digits and hyphens).`);
    return v;
  };
  const instance = name("instance");
  if (instance !== undefined) args.instance = instance;
  const key = name("key");
  if (key !== undefined) args.key = key;
  args.dryRun = values["dry-run"] === true;
  const hsm = name("hsm");
  if (hsm !== undefined) args.hsm = hsm;
  const pair = text("pair");
  if (pair !== undefined) {
    if (!/^[0-9A-Za-z-]{1,63}=[0-9A-Za-z-]{1,63}$/.test(pair)) throw new UsageError(`--pair must be PRIMARY=TARGET (HSM names from DRILL_PAIRS), not "${pair}".`);
    args.pair = pair;
  }
  const mode = text("mode");
  if (mode !== undefined) {
    if (mode !== "full" && mode !== "selective") throw new UsageError(`--mode must be "full" or "selective", not "${mode}".`);
    args.mode = mode;
  }
  if (command === "drill") {
    if (args.mode === "selective" && args.key === undefined) throw new UsageError("A selective drill needs --key NAME (the key restored into the DR HSM).");
    if (args.mode === "full" && args.key !== undefined) throw new UsageError("--key is only for --mode selective.");
  }
  args.latest = values.latest === true;
  const drill = text("drill");
  if (drill !== undefined) {
    if (!/^[A-Za-z0-9][A-Za-z0-9:._-]{0,200}$/.test(drill)) throw new UsageError(`--drill "${drill}" is not a drill id (e.g. drill:primary:dr:2026-11-23).`);
    args.drill = drill;
  }
  if (args.latest && args.drill !== undefined) throw new UsageError("Use either --latest or --drill ID, not both.");
  const html = text("html");
  if (html !== undefined) args.html = html;
  if (requestId !== undefined) args.requestId = requestId;
  args.now = values.now === true;
  const reason = text("reason");
  const ticket = text("ticket");
  const as = text("as");
  if (as !== undefined) {
    if (!/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(as)) throw new UsageError(`--as must be an object id (GUID), not "${as}".`);
    args.as = as.toLowerCase();
  }
  if (command === "rotate") {
    if (!args.now && (reason !== undefined || ticket !== undefined || as !== undefined)) throw new UsageError("--reason, --ticket and --as are for an emergency rotation: add --now.");
    if (args.now) {
      if (args.dryRun) throw new UsageError("--now cannot be a --dry-run.");
      if (args.instance === undefined || args.key === undefined) throw new UsageError("rotate --now needs --instance NAME and --key NAME.");
      if (reason === undefined || !["compromise", "policy", "other"].includes(reason)) throw new UsageError(`rotate --now needs --reason compromise, policy or other${reason === undefined ? "" : `, not "${reason}"`}.`);
      if (ticket === undefined || !/^[A-Za-z0-9][A-Za-z0-9._:#/-]{0,127}$/.test(ticket)) throw new UsageError("rotate --now needs --ticket ID (the change or incident id; letters, digits, . _ : # / -).");
    }
  }
  if (command === "recover") {
    if (args.instance === undefined || args.key === undefined) throw new UsageError("recover needs --instance NAME (a primary HSM) and --key NAME.");
    const folder = text("backup");
    if (folder !== undefined) {
      if (!/^[0-9A-Za-z][0-9A-Za-z._-]{0,199}$/.test(folder)) throw new UsageError(`--backup "${folder}" is not a backup folder name (as the backup manifests name it).`);
      args.backupFolder = folder;
    }
    if (ticket !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._:#/-]{0,127}$/.test(ticket)) throw new UsageError("--ticket must be the change or incident id (letters, digits, . _ : # / -).");
  }
  if (command === "disable") {
    const version = text("version");
    if (args.instance === undefined || args.key === undefined || version === undefined) throw new UsageError("disable needs --instance NAME, --key NAME and --version V (a superseded version of the key).");
    if (!/^[0-9A-Za-z]{1,64}$/.test(version)) throw new UsageError(`--version "${version.slice(0, 70)}" is not a key version (letters and digits).`);
    args.keyVersion = version;
    if (reason === undefined || reason.trim() === "") throw new UsageError("disable needs --reason TEXT (why the version goes before its time).");
    if (ticket === undefined || !/^[A-Za-z0-9][A-Za-z0-9._:#/-]{0,127}$/.test(ticket)) throw new UsageError("disable needs --ticket ID (the change or incident id; letters, digits, . _ : # / -).");
  }
  if (command === "reject" && reason === undefined) throw new UsageError('"reject" needs --reason TEXT.');
  if (reason !== undefined) args.reason = reason;
  if (ticket !== undefined) args.ticket = ticket;
  return args;
}

function defaults(command: CliArgs["command"]): CliArgs {
  return { command, credential: "managed-identity", appUrl: "http://127.0.0.1:7071", appUrlGiven: false, json: false, check: false, timeoutMs: 3_600_000, dryRun: false, now: false, mode: "full", latest: false };
}
