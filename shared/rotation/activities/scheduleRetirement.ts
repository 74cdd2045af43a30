import { orchestrationNames } from "../../names";
import { rotationStartDecision } from "../dedupe";
import type { RetireVersionsInput } from "../types";
import { isAlreadyStarted, readInstanceStatus, type RotationStarterClient } from "./durableStatus";

export interface ScheduleRetirementInput {
  instanceId: string;
  input: RetireVersionsInput;
}

export type ScheduleRetirementOutput = { kind: "started" | "exists"; instanceId: string };

/**
 * Starts `retireVersions` for a rotated key as its own instance (the rotation, and with it the sweep batch,
 * does not wait out the grace period). At-least-once safe: the status is read first and a lost start race
 * (409) counts as started.
 */
export async function scheduleRetirement(input: ScheduleRetirementInput, client: RotationStarterClient): Promise<ScheduleRetirementOutput> {
  const existing = await readInstanceStatus(client, input.instanceId);
  // Running or completed: leave it. Failed or terminated: start again (retirement is idempotent).
  if (existing !== undefined && !rotationStartDecision(existing).start) return { kind: "exists", instanceId: input.instanceId };
  try {
    await client.startNew(orchestrationNames.retireVersions, { instanceId: input.instanceId, input: input.input });
    return { kind: "started", instanceId: input.instanceId };
  } catch (e) {
    if (isAlreadyStarted(e)) return { kind: "exists", instanceId: input.instanceId };
    throw e;
  }
}
