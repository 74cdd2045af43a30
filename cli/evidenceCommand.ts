import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { hsmEvidenceSigner, sealVerifies, type EvidenceSigner } from "../shared/evidence/evidenceSigner";
import type { CliArgs } from "./cliArgs";
import { createCliContext, type CliContext } from "./cliContext";
import type { CliIo } from "./cliIo";
import { errorText } from "../shared/errors/errorText";
import { collectEvidence } from "./evidence/collectEvidence";
import { renderEvidenceHtml } from "./evidence/renderEvidenceHtml";
import { parseCommandLine } from "./parseCommandLine";
import { UsageError, usageErrorExit, usageErrorText } from "./usageError";
import { useLocalStack } from "./useLocalStack";

export const EVIDENCE_FILES = { json: "evidence.json", html: "evidence.html", sig: "evidence.sig", pem: "signing-key.pem" } as const;

const DEFAULT_PERIOD_DAYS = 90;

/**
 * `evidence --out DIR [--from ISO] [--to ISO]`: the evidence pack, sealed by the HSM key `evidence-signing` (see
 * shared/evidence/evidenceSigner.ts). `evidence verify DIR`: offline, exit 0 when evidence.json verifies against
 * evidence.sig and signing-key.pem and evidence.html is the one evidence.json names; 1 otherwise.
 */
export async function evidenceCommand(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv[0] === "verify") {
    if (argv.length !== 2 || argv[1]?.startsWith("-") === true) {
      io.err(usageErrorText(new UsageError('"evidence verify" needs exactly one argument: the folder "evidence --out" wrote.')));
      return 2;
    }
    const result = verifyEvidence(resolve(argv[1] ?? ""));
    if (result.ok) io.out(`evidence verify: intact (${result.detail})`);
    else io.err(`evidence verify: NOT intact: ${result.detail}`);
    return result.ok ? 0 : 1;
  }
  let args: { out: string; from: Date; to: Date; settingsFile?: string; credential: CliArgs["credential"]; appUrl: string; appUrlGiven: boolean };
  try {
    args = parseEvidenceArgs(argv);
  } catch (e) {
    return usageErrorExit(e, io);
  }
  try {
    // The pack is decided as of --to (recovery points, RPO, cryptoperiods), not the machine clock: a period that
    // ends in the past is judged as it stood then, and a stack whose clocks run ahead (time-compressed) is judged
    // at the instant its own records describe. Without --to, --to is the machine clock, as before.
    const run = useLocalStack({ ...args, at: args.to }, io);
    const ctx = createCliContext(run);
    const signer = signerFor(ctx, run.credential);
    const unavailable = await writeEvidencePack(ctx, signer, args.out, { from: args.from, to: args.to }, run.credential);
    for (const u of unavailable) io.err(`hsm-lifecycle evidence: not in the pack (could not be read): ${u}`);
    io.out(`Evidence written to ${args.out}: ${Object.values(EVIDENCE_FILES).join(", ")}. Check: openssl dgst -sha256 -verify ${join(args.out, EVIDENCE_FILES.pem)} -signature ${join(args.out, EVIDENCE_FILES.sig)} ${join(args.out, EVIDENCE_FILES.json)}`);
    return 0;
  } catch (e) {
    io.err(`hsm-lifecycle evidence: ${errorText(e)}`);
    return 1;
  }
}

function parseEvidenceArgs(argv: readonly string[]): { out: string; from: Date; to: Date; settingsFile?: string; credential: CliArgs["credential"]; appUrl: string; appUrlGiven: boolean } {
  const { values, positionals } = parseCommandLine(argv, { out: { type: "string" }, from: { type: "string" }, to: { type: "string" }, settings: { type: "string" }, credential: { type: "string" }, "app-url": { type: "string" } });
  if (positionals.length > 0) throw new UsageError(`Unexpected argument "${positionals[0]}" after "evidence" (use "evidence verify DIR" to check a pack).`);
  const out = typeof values["out"] === "string" ? values["out"].trim() : "";
  if (out === "") throw new UsageError("evidence needs --out DIR (the folder the pack is written to).");
  const instant = (flag: "from" | "to", fallback: Date): Date => {
    const v = values[flag];
    if (typeof v !== "string") return fallback;
    const d = new Date(v);
    if (!/^\d{4}-\d{2}-\d{2}(T|$)/.test(v) || Number.isNaN(d.getTime())) throw new UsageError(`--${flag} "${v}" is not an ISO 8601 date or instant like 2026-12-01T00:00:00Z.`);
    return d;
  };
  const to = instant("to", new Date());
  const from = instant("from", new Date(to.getTime() - DEFAULT_PERIOD_DAYS * 86_400_000));
  if (from.getTime() > to.getTime()) throw new UsageError(`--from (${from.toISOString()}) is after --to (${to.toISOString()}).`);
  const credential = values["credential"];
  if (credential !== undefined && credential !== "managed-identity" && credential !== "default") throw new UsageError(`--credential must be "managed-identity" or "default", not "${String(credential)}".`);
  const settings = typeof values["settings"] === "string" ? values["settings"].trim() : undefined;
  return { out: resolve(out), from, to, ...(settings === undefined || settings === "" ? {} : { settingsFile: settings }), credential: credential ?? "managed-identity", appUrl: "http://127.0.0.1:7071", appUrlGiven: false };
}

/** Signs as the drill identity in the first primary HSM; a person (`--credential default`) may create the key. */
export function signerFor(ctx: CliContext, credential: CliArgs["credential"]): EvidenceSigner {
  const hsm = ctx.settings.hsms.find((h) => h.role === "primary");
  if (hsm === undefined) throw new Error("[SettingsInvalid] No primary HSM is configured (HSMS), so there is no HSM to hold the evidence signing key. Fix: set HSMS.");
  const clients = ctx.keyClients("drill");
  return hsmEvidenceSigner(clients.keys(hsm.url), (k) => clients.crypto(k), hsm, { createIfMissing: credential === "default" });
}

/** Collects, renders, seals and writes the pack (the HTML's digest is inside the signed JSON); returns what could not be read. */
export async function writeEvidencePack(ctx: CliContext, signer: EvidenceSigner, dir: string, period: { from: Date; to: Date }, credential: CliArgs["credential"]): Promise<string[]> {
  const taken = Object.values(EVIDENCE_FILES).filter((f) => existsSync(join(dir, f)));
  if (taken.length > 0) throw new Error(`[Conflict] ${dir} already holds ${taken.join(", ")}; an evidence pack is never overwritten. Fix: pass --out with a new or empty folder.`);
  const { keyId, publicKeyPem } = await signer.publicKey();
  const pack = await collectEvidence(ctx, period, credential);
  const html = renderEvidenceHtml(pack);
  const signed = { ...pack, signingKey: { keyId, publicKeySha256: sha256(Buffer.from(publicKeyPem)) }, attachments: { [EVIDENCE_FILES.html]: sha256(Buffer.from(html)) } };
  const json = Buffer.from(`${JSON.stringify(signed, null, 2)}\n`);
  const seal = await signer.seal(json);
  mkdirSync(dir, { recursive: true });
  // "wx": a pack written meanwhile by another run is not overwritten either.
  writeFileSync(join(dir, EVIDENCE_FILES.html), html, { flag: "wx" });
  writeFileSync(join(dir, EVIDENCE_FILES.json), json, { flag: "wx" });
  writeFileSync(join(dir, EVIDENCE_FILES.sig), seal.signatureDer, { flag: "wx" });
  writeFileSync(join(dir, EVIDENCE_FILES.pem), seal.publicKeyPem, { flag: "wx" });
  return Array.isArray(pack["unavailable"]) ? (pack["unavailable"] as string[]) : [];
}

/** Offline verification: the seal, the key evidence.json names, and the HTML it names. */
export function verifyEvidence(dir: string): { ok: boolean; detail: string } {
  const read = (name: string): Buffer | undefined => {
    try {
      return readFileSync(join(dir, name));
    } catch {
      return undefined;
    }
  };
  const json = read(EVIDENCE_FILES.json);
  const sig = read(EVIDENCE_FILES.sig);
  const pem = read(EVIDENCE_FILES.pem);
  const missing = Object.values(EVIDENCE_FILES).filter((f) => read(f) === undefined);
  if (json === undefined || sig === undefined || pem === undefined || missing.length > 0) return { ok: false, detail: `missing in ${dir}: ${missing.join(", ")}` };
  if (!sealVerifies(json, sig, pem.toString("utf8"))) return { ok: false, detail: `${EVIDENCE_FILES.sig} does not verify ${EVIDENCE_FILES.json} with ${EVIDENCE_FILES.pem}: the pack was changed after it was sealed` };
  let pack: { signingKey?: { publicKeySha256?: string; keyId?: string }; attachments?: Record<string, string> };
  try {
    pack = JSON.parse(json.toString("utf8")) as typeof pack;
  } catch (e) {
    return { ok: false, detail: `${EVIDENCE_FILES.json} is not JSON (${errorText(e)})` };
  }
  if (pack.signingKey?.publicKeySha256 !== sha256(pem)) return { ok: false, detail: `${EVIDENCE_FILES.pem} is not the key ${EVIDENCE_FILES.json} names` };
  for (const [name, digest] of Object.entries(pack.attachments ?? {})) {
    const bytes = read(name);
    if (bytes === undefined || sha256(bytes) !== digest) return { ok: false, detail: `${name} is not the file ${EVIDENCE_FILES.json} names (SHA-256 differs)` };
  }
  return { ok: true, detail: `signed by ${pack.signingKey.keyId ?? "?"}; ${Object.keys(pack.attachments ?? {}).length} attachment(s) match` };
}

function sha256(b: Buffer): string {
  return createHash("sha256").update(b).digest("hex");
}
