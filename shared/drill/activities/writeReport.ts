import { createHash } from "node:crypto";
import { manifestBlobName } from "../../backup/backupManifest";
import { toLifecycleError } from "../../errors/fromRestError";
import { redactSecrets } from "../../errors/redactSecrets";
import { hsmEvidenceSigner, type Seal } from "../../evidence/evidenceSigner";
import { principalIdOf } from "../../hsm/principalIdOf";
import { buildDrillReport, type DrillReport, type DrillReportInput } from "../drillReport";
import { measureObjectives, type ObjectiveTimes } from "../measureObjectives";
import { renderDrillReportHtml } from "../renderDrillReportHtml";
import { drillNow, type DrillDeps } from "./deps";

export interface WriteDrillReportInput extends Omit<DrillReportInput, "objectives"> {
  /** The four instants RPO and RTO come from; absent when the drill stopped before verification. */
  times?: ObjectiveTimes;
}

export interface WriteDrillReportOutput {
  verdict: DrillReport["verdict"];
  failures: string[];
  jsonBlob: string;
  htmlBlob: string;
  rtoMs?: number;
  rpoMs?: number;
}

/**
 * Activity `writeDrillReport`: measures RTO/RPO against RTO_TARGET / RPO_TARGET (a breach fails the drill),
 * decides the verdict and writes `{drillId}/report.json` and `{drillId}/report.html` to the drill-reports
 * container. Idempotent (same blob names, overwritten), so a retried activity leaves one report.
 *
 * The report names when it was generated, the object id of the identity that ran the drill (from its own token)
 * and the SHA-256 of the backup manifest it restored, and is sealed like an evidence pack: `report.json.sig`
 * (ECDSA P-256, DER, over the SHA-256 of report.json, made in the primary HSM with the key `evidence-signing`) and
 * `signing-key.pem` beside it: `openssl dgst -sha256 -verify signing-key.pem -signature report.json.sig report.json`.
 * Without that key the report is written unsealed (logged); a seal never changes a drill's verdict.
 */
export async function writeDrillReport(input: WriteDrillReportInput, deps: DrillDeps): Promise<WriteDrillReportOutput> {
  if (!/^[A-Za-z0-9][A-Za-z0-9:._-]{0,200}$/.test(input.drillId)) {
    throw new RangeError(`drillId "${input.drillId}" must be letters, digits, ':', '.', '_' or '-' (it names the report's blobs).`);
  }
  const { times, ...rest } = input;
  const principalId = await principalIdOf(deps.credential).catch(() => undefined);
  const manifestDigest = rest.backup === undefined ? undefined : await manifestDigestOf(deps, rest.backup.folder);
  const report = buildDrillReport({
    ...(times === undefined ? rest : { ...rest, objectives: measureObjectives(times, deps.settings.objectives) }),
    generatedAt: drillNow(deps).toISOString(),
    ...(principalId === undefined ? {} : { principalId }),
    ...(manifestDigest === undefined ? {} : { manifestDigest }),
  });
  const base = input.drillId.replace(/:/g, "-");
  const jsonBlob = `${base}/report.json`;
  const htmlBlob = `${base}/report.html`;
  const json = JSON.stringify(report, null, 2);
  const html = renderDrillReportHtml(report);
  const seal = await sealOf(deps, input, Buffer.from(json));
  try {
    await deps.reports.getBlockBlobClient(jsonBlob).upload(json, Buffer.byteLength(json), { blobHTTPHeaders: { blobContentType: "application/json; charset=utf-8" } });
    await deps.reports.getBlockBlobClient(htmlBlob).upload(html, Buffer.byteLength(html), { blobHTTPHeaders: { blobContentType: "text/html; charset=utf-8" } });
    if (seal !== undefined) {
      await deps.reports.getBlockBlobClient(`${jsonBlob}.sig`).upload(seal.signatureDer, seal.signatureDer.length, { blobHTTPHeaders: { blobContentType: "application/octet-stream" } });
      await deps.reports.getBlockBlobClient(`${base}/signing-key.pem`).upload(seal.publicKeyPem, Buffer.byteLength(seal.publicKeyPem), { blobHTTPHeaders: { blobContentType: "application/x-pem-file" } });
    }
  } catch (e) {
    throw toLifecycleError(e, { service: "storage", operation: "write the drill report", resource: deps.reports.url });
  }
  deps.log?.(`drill ${input.drillId}: ${report.verdict}; report at ${jsonBlob}.`);
  const out: WriteDrillReportOutput = { verdict: report.verdict, failures: report.failures, jsonBlob, htmlBlob };
  if (report.objectives !== undefined) {
    out.rtoMs = report.objectives.rtoMs;
    out.rpoMs = report.objectives.rpoMs;
  }
  return out;
}

async function manifestDigestOf(deps: DrillDeps, folder: string): Promise<string | undefined> {
  if (deps.backupContainer === undefined) return undefined;
  try {
    const bytes = await deps.backupContainer.getBlobClient(manifestBlobName(folder)).downloadToBuffer();
    return createHash("sha256").update(bytes).digest("hex");
  } catch (e) {
    deps.log?.(`drill report: the manifest of ${folder} could not be read for its digest (${redactSecrets((e as Error).message ?? String(e))}).`);
    return undefined;
  }
}

async function sealOf(deps: DrillDeps, input: WriteDrillReportInput, bytes: Buffer): Promise<Seal | undefined> {
  // The HSM by its configured name: an orchestration input's URL is never trusted.
  const primary = deps.settings.hsms.find((h) => h.name === input.primary.name && h.role === "primary");
  if (primary === undefined) return undefined;
  try {
    // Reading the signing key is one single-key GET: it comes out of the same daily budget as the probes' GETs.
    const reservation = await deps.getLedger?.reserve(1, drillNow(deps));
    if (reservation !== undefined && !reservation.granted) {
      deps.log?.(`drill ${input.drillId}: report not sealed (the day's single-key GET budget is spent).`);
      return undefined;
    }
    return await hsmEvidenceSigner(deps.keyClients.keys(primary.url), (k) => deps.keyClients.crypto(k), primary).seal(bytes);
  } catch (e) {
    deps.log?.(`drill ${input.drillId}: report not sealed (${redactSecrets((e as Error).message ?? String(e))}).`);
    return undefined;
  }
}
