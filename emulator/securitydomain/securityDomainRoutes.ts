/**
 * Managed HSM security domain REST routes (securitydomain.json, api-versions 7.2 … 2025-07-01):
 *
 *   POST /securitydomain/download         → 202 {value: "<security domain file>"} + Azure-AsyncOperation …/download/pending
 *   GET  /securitydomain/download/pending → 200 {status: "Success"|"InProgress"|"Failed", status_details}
 *   GET  /securitydomain/upload           → 200 {key_format: "jwk", transfer_key: "<exchange key JWK>"} (recovery only)
 *   POST /securitydomain/upload           → 202 {status, status_details} + Azure-AsyncOperation …/upload/pending
 *   GET  /securitydomain/upload/pending   → 200 {status, status_details}
 *
 * Authorization (Managed HSM Administrator): securitydomain/download/action, securitydomain/download/read,
 * securitydomain/transferkey/read, securitydomain/upload/action, securitydomain/upload/read at "/". These routes
 * are the only ones an HSM that is not activated serves. Operations finish before the 202 is sent, so the first
 * poll already sees Success or Failed; each one also writes a completion record to the audit log.
 */
import { keyVaultErrors, KeyVaultError } from "../errors";
import type { RequestContext } from "../http/requestContext";
import type { RouteTable } from "../http/routes";
import { saveSecurityDomain } from "../securityDomain";
import { parseCertificateInfo } from "./certificateInfo";
import { loadOrCreateExchangeKey, transferKeyBody } from "./exchangeKey";
import { buildSecurityDomainFile, openRestoreBlob, parseRestoreBlob, SecurityDomainUploadError } from "./securityDomainFile";
import { securityDomainStateOf, type SecurityDomainOperation } from "./securityDomainState";

/** The 409 every other data-plane call of a not-activated HSM gets (the service's code is undocumented). */
export function notActivatedError(): KeyVaultError {
  return keyVaultErrors.conflict(
    "This Managed HSM is not activated: its security domain has been neither downloaded nor uploaded. Activate it by downloading its security domain (POST /securitydomain/download) or, to recover another HSM's domain, by uploading it (GET /securitydomain/upload for the exchange key, then POST /securitydomain/upload).",
  );
}

const ACTIVE = "The resource is active.";

/**
 * The status routes are polled at the Azure-AsyncOperation URL, which carries no api-version on the service;
 * the HTTP layer answers routes flagged `apiVersionOptional` without one (a spread, so the flag is inert
 * where the pipeline does not know it).
 */
const POLLED = { apiVersionOptional: true };

// Microsoft's logging article says security domain download and upload are logged but publishes no operation name
// for them: the names below are the emulator's reading (auditlog/unconfirmedOperationNames.ts, with the sources).
export function registerSecurityDomainRoutes(table: RouteTable): void {
  const common = { kinds: ["managedHsm" as const], allowBeforeActivation: true };

  table.add({
    ...common,
    method: "POST",
    pattern: "/securitydomain/download",
    operationName: "SecurityDomainDownload",
    handler: async (ctx) => {
      ctx.authorize("securitydomain/download/action", "/");
      const { custodians, required } = parseCertificateInfo(ctx.body);
      const state = securityDomainStateOf(ctx.instance);
      const value = await buildSecurityDomainFile(ctx.instance.securityDomain, custodians, required);
      const op: SecurityDomainOperation = { status: "Success", status_details: ACTIVE };
      await state.record("download", op, true);
      completion(ctx, "SecurityDomainDownload", op);
      return ctx.json(202, { value }, asyncHeaders(ctx, "download"));
    },
  });
  table.add({
    ...common,
    method: "GET",
    ...POLLED,
    pattern: "/securitydomain/download/pending",
    operationName: "SecurityDomainDownloadStatus",
    readsBody: false,
    handler: (ctx) => {
      ctx.authorize("securitydomain/download/read", "/");
      const op = securityDomainStateOf(ctx.instance).download;
      if (op !== null) return ctx.json(200, op);
      if (ctx.instance.activated) return ctx.json(200, { status: "Success", status_details: ACTIVE });
      throw keyVaultErrors.notFound("No security domain download has been started on this HSM. Start one with POST /securitydomain/download.");
    },
  });
  table.add({
    ...common,
    method: "GET",
    pattern: "/securitydomain/upload",
    operationName: "SecurityDomainTransferKey",
    readsBody: false,
    handler: async (ctx) => {
      ctx.authorize("securitydomain/transferkey/read", "/");
      if (ctx.instance.activated) throw alreadyActivated("an exchange key is only served to an HSM in recovery mode");
      return ctx.json(200, transferKeyBody(await loadOrCreateExchangeKey(ctx.instance.dataDir, ctx.instance.name), ctx.baseUrl));
    },
  });
  table.add({
    ...common,
    method: "POST",
    pattern: "/securitydomain/upload",
    operationName: "SecurityDomainUpload",
    handler: async (ctx) => {
      ctx.authorize("securitydomain/upload/action", "/");
      if (ctx.instance.activated) throw alreadyActivated("a security domain can only be uploaded to a new HSM in recovery mode");
      const blob = parseRestoreBlob(ctx.body);
      const state = securityDomainStateOf(ctx.instance);
      let op: SecurityDomainOperation;
      try {
        const domain = await openRestoreBlob(blob, await loadOrCreateExchangeKey(ctx.instance.dataDir, ctx.instance.name), ctx.instance.name);
        // The domain file first: after a crash in between, the HSM restarts inactive but already holding it.
        saveSecurityDomain(ctx.services.stateDir, domain);
        ctx.instance.securityDomain = domain;
        ctx.instance.keyBackupSecret = domain.secret;
        op = { status: "Success", status_details: ACTIVE };
      } catch (e) {
        if (!(e instanceof SecurityDomainUploadError)) throw e;
        op = { status: "Failed", status_details: e.message };
      }
      await state.record("upload", op, op.status === "Success");
      completion(ctx, "SecurityDomainUpload", op);
      return ctx.json(202, op, asyncHeaders(ctx, "upload"));
    },
  });
  table.add({
    ...common,
    method: "GET",
    ...POLLED,
    pattern: "/securitydomain/upload/pending",
    operationName: "SecurityDomainUploadStatus",
    readsBody: false,
    handler: (ctx) => {
      ctx.authorize("securitydomain/upload/read", "/");
      const op = securityDomainStateOf(ctx.instance).upload;
      if (op === null) throw keyVaultErrors.notFound("No security domain upload has been started on this HSM. Start one with POST /securitydomain/upload.");
      return ctx.json(200, op);
    },
  });
}

function alreadyActivated(why: string): KeyVaultError {
  return keyVaultErrors.conflict(`This Managed HSM is already activated: ${why}. To recover a security domain, create a new HSM (emulator: --hsm NAME=PORT,recovery).`);
}

function asyncHeaders(ctx: RequestContext, kind: "download" | "upload"): Record<string, string> {
  return { "azure-asyncoperation": `${ctx.baseUrl}/securitydomain/${kind}/pending`, "retry-after": "0" };
}

/** The operation's outcome in the audit log, beside the HTTP layer's record of the request itself. */
function completion(ctx: RequestContext, operationName: string, op: SecurityDomainOperation): void {
  const failed = op.status === "Failed";
  ctx.instance.audit.record({
    time: ctx.instance.clock.now().toISOString(),
    operationName,
    operationVersion: "operation",
    resultSignature: op.status,
    resultDescription: op.status_details,
    durationMs: 0,
    callerIpAddress: ctx.callerIp,
    correlationId: ctx.correlationId,
    identity: { claim: ctx.callerClaims },
    properties: {
      requestUri: `${ctx.baseUrl}/securitydomain/${operationName === "SecurityDomainUpload" ? "upload" : "download"}/pending`,
      httpStatusCode: failed ? 400 : 200,
      ...(ctx.clientInfo !== undefined ? { clientInfo: ctx.clientInfo } : {}),
    },
  });
}

