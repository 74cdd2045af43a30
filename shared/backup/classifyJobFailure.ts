import type { ErrorCode } from "../errors/errorCode";
import { formatFailureMessage } from "../errors/lifecycleError";
import { redactSecrets } from "../errors/redactSecrets";

/** A failed admin job as a code plus the `[Code] cause. Fix: …` text the orchestration reports. */
export interface JobFailure {
  code: ErrorCode;
  message: string;
}

/**
 * Turns a failed backup job's `error` / `statusDetails` into a lifecycle failure. The service reports storage
 * problems only as text inside a generic error, so the text decides: missing container, unreachable storage,
 * and refused storage access each get their own code and fix; anything else is a `JobFailed` (retried).
 */
export function classifyJobFailure(serviceCode: string | undefined, text: string | undefined, containerUrl: string): JobFailure {
  const said = redactSecrets((text ?? "").trim() || "no details given").slice(0, 500);
  const make = (code: ErrorCode, detail: string): JobFailure => ({ code, message: formatFailureMessage(code, detail) });
  if (/ContainerNotFound|container does not exist/i.test(said)) {
    return make("ContainerNotFound", `The backup job failed: the container ${containerUrl} does not exist (${said}). Fix: create the container (BACKUP_CONTAINER) in the storage account.`);
  }
  if (/unreachable|ECONNREFUSED|ENOTFOUND|ETIMEDOUT|could not connect/i.test(said)) {
    return make(
      "StorageUnreachable",
      `The backup job failed: the HSM could not reach storage at ${containerUrl} (${said}). Fix: check the storage account URL, its firewall ("Allow trusted Microsoft services") and private endpoints.`,
    );
  }
  if (/ForbiddenByFirewall|network rules|firewall/i.test(said)) {
    return make(
      "FirewallBlocked",
      `The backup job failed: the storage firewall refused the HSM (${said}). Fix: on the storage account allow "trusted Microsoft services" (Managed HSM is one) or add a private endpoint.`,
    );
  }
  if (/lacks the .*permission|rejected the SAS/i.test(said)) {
    return make("BadParameter", `The backup job failed: storage refused the SAS for ${containerUrl} (${said}). Fix: BACKUP_AUTH=sas needs a container SAS with sp=crdw that is valid for the whole job.`);
  }
  if (/not authorized|AuthorizationPermissionMismatch|AuthorizationFailure|\b403\b/i.test(said)) {
    return make(
      "MissingRole",
      `The backup job failed: storage refused the HSM's managed identity for ${containerUrl} (${said}). Fix: assign "Storage Blob Data Contributor" to the HSM's managed identity on the container or storage account.`,
    );
  }
  return make("JobFailed", `The backup job failed on the HSM (${serviceCode ?? "Failed"}): ${said}. The backup is retried with backoff.`);
}
