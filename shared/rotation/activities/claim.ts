import { rotationStartDecision } from "../dedupe";
import { readInstanceStatus, type RotationStarterClient } from "./durableStatus";

export interface ClaimRotationsInput {
  instanceIds: string[];
}

export interface ClaimRotationsOutput {
  /** Ids the batch may start now. */
  free: string[];
  /** Ids left alone, with why (running, completed with a new version…). */
  taken: { instanceId: string; reason: string }[];
}

/**
 * Checks each rotation id against durable before a batch starts it: an event, a redelivery or an earlier
 * sweep may already have rotated that key version (see `rotationStartDecision`).
 */
export async function claimRotations(input: ClaimRotationsInput, client: RotationStarterClient): Promise<ClaimRotationsOutput> {
  const out: ClaimRotationsOutput = { free: [], taken: [] };
  // One status read per id, in parallel (a batch is at most 200 ids); the order of `free` follows the input.
  const statuses = await Promise.all(input.instanceIds.map((id) => readInstanceStatus(client, id)));
  input.instanceIds.forEach((id, i) => {
    const decision = rotationStartDecision(statuses[i]);
    if (decision.start) out.free.push(id);
    else out.taken.push({ instanceId: id, reason: decision.reason });
  });
  return out;
}
