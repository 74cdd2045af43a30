import { exclusiveLockId, startExclusive, type ExclusiveStartClient } from "../app/startExclusive";
import { orchestrationNames } from "../names";
import type { ReverifyBackupsInput } from "./orchestrations/reverifyBackups";

export interface ReverifyStartDecision {
  hsmName: string;
  instanceId: string;
  action: "started" | "skipped";
  reason?: string;
}

/** `reverify:{hsm}:{yyyyMMddTHHmm}` of the trigger's minute (one run per HSM and firing). */
export function reverifyInstanceId(hsmName: string, at: Date): string {
  return `reverify:${hsmName}:${at.toISOString().slice(0, 16).replace(/[-:]/g, "")}`;
}

/**
 * Starts one `reverifyBackups` per primary HSM, each under its HSM's lock `exclusive:reverify:{hsm}`: a run that
 * has not finished since the last firing (a large account) makes this firing a skip naming it, never a second run.
 */
export async function startReverifications(client: ExclusiveStartClient, hsmNames: readonly string[], at: Date): Promise<ReverifyStartDecision[]> {
  const out: ReverifyStartDecision[] = [];
  for (const hsmName of hsmNames) {
    const instanceId = reverifyInstanceId(hsmName, at);
    const input: ReverifyBackupsInput = { hsmName };
    const outcome = await startExclusive(client, exclusiveLockId("reverify", hsmName), { name: orchestrationNames.reverifyBackups, instanceId, input });
    out.push(outcome.started ? { hsmName, instanceId, action: "started" } : { hsmName, instanceId, action: "skipped", reason: `re-verification ${outcome.instanceId} of ${hsmName} is ${outcome.runtimeStatus}` });
  }
  return out;
}
