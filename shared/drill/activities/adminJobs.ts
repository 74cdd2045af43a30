import { createAdminPipeline } from "../../hsm/adminPipeline";
import type { AdminJobKind, AdminJobWire } from "../../hsm/keyVaultAdminPoller";
import { fromRestError } from "../../errors/fromRestError";
import { toAdminJobSnapshot, type AdminJobSnapshot } from "../adminJobSnapshot";
import type { DrillDeps } from "./deps";

/**
 * One status read of an admin job (`GET /{backup|restore}/{jobId}/pending`): the poll-once step the
 * orchestration repeats between durable timers. Pre-restores and selective restores are read at `restore`.
 */
export async function readAdminJob(deps: Pick<DrillDeps, "credential" | "adminOptions">, hsmUrl: string, kind: AdminJobKind, jobId: string): Promise<AdminJobSnapshot> {
  if (!/^[A-Za-z0-9-]+$/.test(jobId)) throw new RangeError(`"${jobId}" is not an admin job id (expected the id the HSM returned).`);
  const pipeline = createAdminPipeline(hsmUrl, deps.credential, deps.adminOptions);
  try {
    const res = await pipeline.send<AdminJobWire>({ method: "GET", pathOrUrl: `/${kind}/${jobId}/pending`, expectedStatuses: [200] });
    return toAdminJobSnapshot(jobId, res.body);
  } catch (e) {
    throw fromRestError(e, { service: "managedHsm", operation: `read ${kind} job ${jobId}`, resource: hsmUrl, requiredRole: "HSM Lifecycle Drill Probe", requiredScope: "/" });
  }
}
