/**
 * Managed HSM administration REST routes (backuprestore.json, api-versions 7.2 … 2025-07-01):
 *
 *   POST /backup                  → 202 FullBackupOperation + Azure-AsyncOperation …/backup/{jobId}/pending
 *   POST /prebackup               → 202 FullBackupOperation (checks only)
 *   GET  /backup/{jobId}/pending  → 200 FullBackupOperation
 *   PUT  /restore                 → 202 RestoreOperation + Azure-AsyncOperation …/restore/{jobId}/pending
 *   PUT  /prerestore              → 202 RestoreOperation (checks only)
 *   PUT  /keys/{name}/restore     → 202 SelectiveKeyRestoreOperation
 *   GET  /restore/{jobId}/pending → 200 RestoreOperation / SelectiveKeyRestoreOperation
 *
 * The two status routes answer without api-version, as the service does: the Azure-AsyncOperation URL it
 * returns carries none and SDKs other than JS poll it as given.
 *
 * Authorization (managed-hsm-api.md §3.6): backup/start/action, backup/status/action, restore/start/action,
 * restore/status/action at scope "/". Status routes keep working during a restore (restore mode).
 * Each job's end is also written to the instance audit log (the request itself is audited by the HTTP layer).
 */
import type { Instance } from "../instance";
import type { EmulatorServices, RequestContext } from "../http/requestContext";
import type { Reply, RouteTable } from "../http/routes";
import { keyVaultErrors } from "../errors";
import { jobToWire, statusCollection, type AdminJob, type AdminJobKind } from "./adminJob";
import { HsmAdmin } from "./hsmAdmin";

const admins = new WeakMap<Instance, HsmAdmin>();

/** The admin service of an HSM instance (created on first use; loads persisted jobs). */
export function hsmAdminFor(instance: Instance, services: Pick<EmulatorServices, "blobConnectionString" | "restoreBackupWindowMinutes">): HsmAdmin {
  let admin = admins.get(instance);
  if (!admin) {
    admin = new HsmAdmin(instance, {
      blobConnectionString: services.blobConnectionString,
      restoreBackupWindowMinutes: services.restoreBackupWindowMinutes,
    });
    admins.set(instance, admin);
    watchJobEnds(instance, admin);
  }
  return admin;
}

/**
 * Audit operation names of job completions, per job kind (the same names as the requests that start the jobs).
 * `BackupCreate` is Microsoft's (the Managed HSM logging article's sample entry); Microsoft publishes no name for the
 * others or for the status polls, so they are the emulator's reading: auditlog/unconfirmedOperationNames.ts lists
 * them with the sources checked.
 */
const AUDIT_NAMES: Record<AdminJobKind, string> = {
  backup: "BackupCreate",
  prebackup: "PreBackup",
  restore: "Restore",
  prerestore: "PreRestore",
  selectiveKeyRestore: "SelectiveKeyRestore",
};

export function registerAdminRoutes(table: RouteTable): void {
  const hsmOnly = { kinds: ["managedHsm" as const] };

  table.add({
    ...hsmOnly,
    method: "POST",
    pattern: "/backup",
    operationName: "BackupCreate",
    handler: (ctx) => {
      ctx.authorize("backup/start/action", "/");
      const admin = adminOf(ctx);
      return accepted(ctx, admin.startBackup(admin.parseBackupBody(ctx.body), ctx.callerOid));
    },
  });
  table.add({
    ...hsmOnly,
    method: "POST",
    pattern: "/prebackup",
    operationName: "PreBackup",
    handler: (ctx) => {
      ctx.authorize("backup/start/action", "/");
      const admin = adminOf(ctx);
      return accepted(ctx, admin.startPreBackup(admin.parseBackupBody(ctx.body), ctx.callerOid));
    },
  });
  table.add({
    ...hsmOnly,
    method: "GET",
    pattern: "/backup/:jobId/pending",
    operationName: "BackupStatus",
    allowDuringRestore: true,
    readsBody: false,
    apiVersionOptional: true,
    handler: (ctx) => {
      ctx.authorize("backup/status/action", "/");
      return ctx.json(200, jobToWire(findJob(ctx, "backup")));
    },
  });
  table.add({
    ...hsmOnly,
    method: "PUT",
    pattern: "/restore",
    operationName: "Restore",
    handler: (ctx) => {
      ctx.authorize("restore/start/action", "/");
      const admin = adminOf(ctx);
      return accepted(ctx, admin.startRestore(admin.parseRestoreBody(ctx.body, "folderToRestore"), ctx.callerOid));
    },
  });
  table.add({
    ...hsmOnly,
    method: "PUT",
    pattern: "/prerestore",
    operationName: "PreRestore",
    handler: (ctx) => {
      ctx.authorize("restore/start/action", "/");
      const admin = adminOf(ctx);
      return accepted(ctx, admin.startPreRestore(admin.parseRestoreBody(ctx.body, "folderToRestore"), ctx.callerOid));
    },
  });
  // Ahead of any generic /keys/:name/:x PUT another module may register.
  table.addFirst({
    ...hsmOnly,
    method: "PUT",
    pattern: "/keys/:name/restore",
    operationName: "SelectiveKeyRestore",
    handler: (ctx) => {
      ctx.authorize("restore/start/action", "/");
      const admin = adminOf(ctx);
      const name = ctx.params["name"] ?? "";
      ctx.auditId = `${ctx.baseUrl}/keys/${name}`;
      return accepted(ctx, admin.startSelectiveKeyRestore(name, admin.parseRestoreBody(ctx.body, "folder"), ctx.callerOid));
    },
  });
  table.add({
    ...hsmOnly,
    method: "GET",
    pattern: "/restore/:jobId/pending",
    operationName: "RestoreStatus",
    allowDuringRestore: true,
    readsBody: false,
    apiVersionOptional: true,
    handler: (ctx) => {
      ctx.authorize("restore/status/action", "/");
      return ctx.json(200, jobToWire(findJob(ctx, "restore")));
    },
  });
}

function adminOf(ctx: RequestContext): HsmAdmin {
  return hsmAdminFor(ctx.instance, ctx.services);
}

function accepted(ctx: RequestContext, job: AdminJob): Reply {
  // The job runs on after this answer; its completion record names the same caller and address as the request
  // that started it (the job's first await comes after this synchronous step).
  job.origin = {
    callerIpAddress: ctx.callerIp,
    claims: ctx.callerClaims,
    ...(ctx.clientInfo !== undefined ? { clientInfo: ctx.clientInfo } : {}),
  };
  const url = `${ctx.baseUrl}/${statusCollection(job.kind)}/${job.jobId}/pending`;
  // Retry-After 0 lets the client's own polling interval apply (the real service sends 0 or 10).
  return ctx.json(202, jobToWire(job), { "azure-asyncoperation": url, "retry-after": "0" });
}

function findJob(ctx: RequestContext, collection: "backup" | "restore"): AdminJob {
  const jobId = ctx.params["jobId"] ?? "";
  const job = adminOf(ctx).jobs.get(jobId);
  if (!job || statusCollection(job.kind) !== collection) {
    throw keyVaultErrors.notFound(
      `No ${collection} job with id '${jobId}' exists on this HSM. Use the jobId returned when the ${collection} was started (jobs are kept across emulator restarts).`,
    );
  }
  return job;
}

/** Writes one audit record when each job of this HSM ends (Success/Failure with the job's details). */
function watchJobEnds(instance: Instance, admin: HsmAdmin): void {
  admin.jobs.onJobEnd((job) => {
    const failed = job.status !== "Succeeded";
    instance.audit.record({
      time: new Date((job.endTime ?? job.startTime) * 1000).toISOString(),
      operationName: AUDIT_NAMES[job.kind],
      operationVersion: "job",
      resultSignature: job.status,
      ...(job.statusDetails !== null ? { resultDescription: job.statusDetails } : {}),
      durationMs: Math.max(0, ((job.endTime ?? job.startTime) - job.startTime) * 1000),
      callerIpAddress: job.origin?.callerIpAddress ?? "",
      // The job id, as before: it ties the record to the job's status polls (tools match records to jobs by it).
      correlationId: job.jobId,
      identity: { claim: job.origin?.claims ?? { oid: job.startedBy } },
      properties: {
        requestUri: `${instance.url}/${statusCollection(job.kind)}/${job.jobId}/pending`,
        httpStatusCode: failed ? 500 : 200,
        ...(job.keyName !== undefined ? { id: `${instance.url}/keys/${job.keyName}` } : {}),
        ...(job.origin?.clientInfo !== undefined ? { clientInfo: job.origin.clientInfo } : {}),
      },
    });
  });
}
