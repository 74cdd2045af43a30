/**
 * `hsm-lifecycle dr download|activate`: the security-domain half of the DR procedure (Microsoft's Managed
 * HSM disaster-recovery guide), against the HSMs named in HSMS.
 *
 * - `dr download --hsm PRIMARY --cert C1.pem … --quorum M --out FILE`: the primary's security domain, encrypted
 *   to the custodians' certificates (3–10, quorum 2–10), written to FILE (never overwritten).
 * - `dr activate --hsm NEW --security-domain FILE --key K1.pem --key K2.pem …`: on a new HSM in recovery mode,
 *   fetch its exchange key, open a quorum of the file's shares with the custodians' private keys (locally, in
 *   memory: the keys are never stored, sent or printed), re-wrap the domain to the exchange key, upload it and
 *   wait until the HSM reports it active. Afterwards the HSM restores the primary's backups (back it up first:
 *   the service's restore rule).
 *
 * Each step is reported on stderr; the result on stdout (or one JSON document with --json). Exit 0 done,
 * 1 failed (the cause named), 2 usage.
 */
import { createPrivateKey, type KeyObject } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { SecurityDomainClient } from "../shared/hsm/securityDomainClient";
import { custodianCertificateJwk, prepareRestoreBlob } from "../shared/hsm/securityDomainRestoreBlob";
import { keyClientOptionsFor } from "../shared/hsm/keyClients";
import { createCliContext } from "./cliContext";
import { commandFailureExit } from "./commandFailureExit";
import type { CliIo } from "./cliIo";
import { parseDrArgs, type DrArgs } from "./drArgs";
import { errorText } from "../shared/errors/errorText";
import { USAGE } from "./usage";
import { UsageError, usageErrorExit } from "./usageError";

/** Runs `dr …` (argv after "dr"); resolves to the exit code. Never throws. */
export async function drCommand(argv: readonly string[], io: CliIo): Promise<number> {
  let args: DrArgs;
  try {
    args = parseDrArgs(argv);
  } catch (e) {
    return usageErrorExit(e, io);
  }
  if (args.action === "help") {
    io.out(USAGE);
    return 0;
  }
  try {
    return args.action === "download" ? await download(args, io) : await activate(args, io);
  } catch (e) {
    return commandFailureExit(e, io, `dr ${args.action}`);
  }
}

function clientFor(args: DrArgs): { client: SecurityDomainClient; url: string } {
  const ctx = createCliContext({ settingsFile: args.settingsFile, credential: "default" });
  const hsm = ctx.settings.hsms.find((h) => h.name === args.hsm);
  if (hsm === undefined) throw new UsageError(`--hsm "${args.hsm}" is not in HSMS (${ctx.settings.hsms.map((h) => h.name).join(", ") || "none configured"}).`);
  // With credential "default" every workload gets the same DefaultAzureCredential: the operator's.
  const client = new SecurityDomainClient(hsm.url, ctx.credential("drill"), keyClientOptionsFor(hsm.url, { ca: ctx.ca, emulatorMode: ctx.settings.emulatorMode }));
  return { client, url: hsm.url };
}

function readFile(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`Cannot read the ${what} ${path} (${(e as NodeJS.ErrnoException).code ?? "read error"}).`);
  }
}

async function download(args: DrArgs, io: CliIo): Promise<number> {
  if (existsSync(args.out)) throw new Error(`${args.out} already exists; a security domain file is never overwritten. Pass another --out.`);
  const certificates = args.certs.map((file) => {
    try {
      return custodianCertificateJwk(readFile(file, "custodian certificate"), basename(file));
    } catch (e) {
      throw new Error(`${file}: ${errorText(e)} Each --cert must be a PEM X.509 certificate with an RSA key of at least 2048 bits.`);
    }
  });
  const { client, url } = clientFor(args);
  io.err(`dr download: downloading the security domain of ${args.hsm} (${url}) for ${certificates.length} custodians, quorum ${args.quorum}`);
  const sd = await client.download({ certificates, required: args.quorum }, { timeoutInMs: args.timeoutMs });
  writeFileSync(args.out, sd.value, { mode: 0o600, flag: "wx" });
  io.err(`dr download: written to ${args.out}; any ${args.quorum} of the ${certificates.length} custodians' private keys recover it`);
  const result = { hsm: args.hsm, file: args.out, custodians: certificates.length, quorum: args.quorum };
  io.out(args.json ? JSON.stringify(result, null, 2) : `${args.hsm}: security domain written to ${args.out} (quorum ${args.quorum} of ${certificates.length})`);
  return 0;
}

function readPrivateKey(file: string): KeyObject {
  const pem = readFile(file, "custodian private key");
  try {
    return createPrivateKey(pem);
  } catch {
    // The error text of a failed parse can quote the input; never pass it on.
    throw new Error(`${file} is not an unencrypted PEM private key (PKCS#8 or PKCS#1). Decrypt it first, e.g. openssl pkey -in KEY -out KEY.pem, and delete the copy afterwards.`);
  }
}

async function activate(args: DrArgs, io: CliIo): Promise<number> {
  const file = readFile(args.securityDomain, "security domain file");
  const keys = args.keys.map(readPrivateKey);
  const { client, url } = clientFor(args);
  io.err(`dr activate: 1/4 fetching the exchange key of ${args.hsm} (${url})`);
  let exchangeKey;
  try {
    exchangeKey = (await client.getTransferKey()).transferKey;
  } catch (e) {
    const status = (e as { statusCode?: number }).statusCode;
    if (status === 409) throw new Error(`${args.hsm} is not in recovery mode (${errorText(e)}) dr activate needs a NEW Managed HSM that has not been activated.`);
    throw e;
  }
  io.err(`dr activate: 2/4 opening the security domain with ${keys.length} custodian keys (locally; the keys never leave this process)`);
  const blob = await prepareRestoreBlob(file, keys, exchangeKey);
  io.err(`dr activate: 3/4 quorum met (${blob.sharesUsed} of ${blob.required} shares); re-wrapped to ${args.hsm}'s exchange key; uploading`);
  const status = await client.upload({ value: blob.value }, { timeoutInMs: args.timeoutMs });
  io.err(`dr activate: 4/4 ${args.hsm} reports ${status.status}: ${status.statusDetails ?? ""}`.trimEnd());
  const result = { hsm: args.hsm, activated: true, status: status.status, statusDetails: status.statusDetails ?? null, sharesUsed: blob.sharesUsed };
  io.out(
    args.json
      ? JSON.stringify(result, null, 2)
      : `${args.hsm}: activated with the security domain from ${args.securityDomain}. Next: back it up once (a restore needs a recent backup of the target), then restore the primary's backup into it (hsm-lifecycle drill).`,
  );
  return 0;
}
