import type { ContainerClient } from "@azure/storage-blob";
import { appSettings } from "../app/appSettings";
import { credentialFor } from "../hsm/workloadCredential";
import { blobServiceClientFor } from "../storage/blobServiceClientFor";
import type { AuditRetryWorkload } from "./auditRetryInput";

const containers = new Map<AuditRetryWorkload, ContainerClient>();

/**
 * `AUDIT_CONTAINER` as `workload`'s identity — the one that first tried the record, whose role already covers
 * the container, so a retry needs no role of its own. Built on first use (a settings problem fails that call).
 */
export function auditContainerAs(workload: AuditRetryWorkload): ContainerClient {
  let container = containers.get(workload);
  if (container === undefined) {
    const settings = appSettings();
    // Few tries, as the first write had: the orchestration's timers are the retries that matter.
    container = blobServiceClientFor(settings.storage, credentialFor(workload, settings), { retryOptions: { maxTries: 2, retryDelayInMs: 500, tryTimeoutInMs: 30_000 } }).getContainerClient(settings.storage.auditContainer);
    containers.set(workload, container);
  }
  return container;
}
