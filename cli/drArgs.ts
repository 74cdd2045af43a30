import { parseCommandLine } from "./parseCommandLine";
import { UsageError } from "./usageError";

/**
 * The command line of `dr download` and `dr activate` (the security-domain half of the DR procedure). They run
 * as the operator (DefaultAzureCredential: az login, environment, managed identity by AZURE_CLIENT_ID), because
 * security domain operations need Managed HSM Administrator, which no workflow identity holds.
 */
export interface DrArgs {
  action: "download" | "activate" | "help";
  settingsFile?: string;
  json: boolean;
  timeoutMs: number;
  hsm: string;
  /** download: custodian certificate PEM files (3–10). */
  certs: string[];
  quorum: number;
  out: string;
  /** activate: the downloaded security domain file and the custodians' private key PEM files. */
  securityDomain: string;
  keys: string[];
}

const options = {
  settings: { type: "string" },
  credential: { type: "string" },
  json: { type: "boolean" },
  timeout: { type: "string" },
  hsm: { type: "string" },
  cert: { type: "string", multiple: true },
  quorum: { type: "string" },
  out: { type: "string" },
  "security-domain": { type: "string" },
  key: { type: "string", multiple: true },
  help: { type: "boolean", short: "h" },
} as const;

export function parseDrArgs(argv: readonly string[]): DrArgs {
  const { values, positionals } = parseCommandLine(argv, options);
  const args: DrArgs = { action: "help", json: values.json === true, timeoutMs: 600_000, hsm: "", certs: [], quorum: 2, out: "", securityDomain: "", keys: [] };
  if (values.help === true) return args;
  const [action, ...extra] = positionals;
  if (action !== "download" && action !== "activate") throw new UsageError(`"dr" needs "download" or "activate", not ${action === undefined ? "nothing" : `"${action}"`}.`);
  if (extra.length > 0) throw new UsageError(`Unexpected argument "${extra[0]}" after "dr ${action}".`);
  args.action = action;
  const other = action === "download" ? ["security-domain", "key"] : ["cert", "quorum", "out"];
  for (const flag of other) if (values[flag as keyof typeof values] !== undefined) throw new UsageError(`"dr ${action}" does not take --${flag}.`);
  if (values.credential !== undefined && values.credential !== "default") {
    throw new UsageError(`"dr ${action}" runs as you (--credential default): security domain operations need Managed HSM Administrator, which no workflow identity holds.`);
  }
  if (values.settings !== undefined) args.settingsFile = values.settings;
  if (values.timeout !== undefined) {
    if (!/^\d+$/.test(values.timeout) || Number(values.timeout) < 1) throw new UsageError(`--timeout must be a whole number of seconds ≥ 1, not "${values.timeout}".`);
    args.timeoutMs = Number(values.timeout) * 1000;
  }
  if (values.hsm === undefined || !/^[0-9A-Za-z-]{1,127}$/.test(values.hsm)) throw new UsageError(`"dr ${action}" needs --hsm NAME (an HSM from HSMS).`);
  args.hsm = values.hsm;
  if (action === "download") {
    args.certs = values.cert ?? [];
    if (args.certs.length < 3 || args.certs.length > 10) throw new UsageError(`"dr download" needs 3 to 10 --cert files (one per custodian); ${args.certs.length} given.`);
    const quorum = values.quorum ?? "";
    if (!/^\d+$/.test(quorum) || Number(quorum) < 2 || Number(quorum) > 10) throw new UsageError(`--quorum must be a whole number from 2 to 10 (custodians needed to recover), not "${quorum}".`);
    args.quorum = Number(quorum);
    if (args.quorum > args.certs.length) throw new UsageError(`--quorum ${args.quorum} exceeds the ${args.certs.length} certificates: the domain could never be recovered.`);
    if (values.out === undefined || values.out.trim() === "") throw new UsageError('"dr download" needs --out FILE (where the security domain file is written).');
    args.out = values.out;
  } else {
    if (values["security-domain"] === undefined || values["security-domain"].trim() === "") throw new UsageError('"dr activate" needs --security-domain FILE (the primary\'s downloaded security domain).');
    args.securityDomain = values["security-domain"];
    args.keys = values.key ?? [];
    if (args.keys.length < 2) throw new UsageError(`"dr activate" needs at least 2 --key files (a quorum of custodians' private keys); ${args.keys.length} given.`);
  }
  return args;
}
