import { rotationInstances, type Settings } from "../../config/settings";
import { orchestrationNames } from "../../names";
import type { RotationSweepInput } from "../types";
import { isAlreadyStarted, readInstanceStatus, type RotationStarterClient } from "./durableStatus";

export type SweepStartOutcome = { kind: "started" | "alreadyRan" | "running"; instanceId: string; status?: string };

/** `sweep:{UTC day}:{instance names}`: one sweep per day and configured instance set. */
export function sweepInstanceId(settings: Pick<Settings, "hsms" | "vaults">, day: Date): string {
  const names = rotationInstances(settings as Settings).map((i) => i.name).sort().join("+");
  return `sweep:${day.toISOString().slice(0, 10)}:${names}`.slice(0, 256);
}

/**
 * The sweep timer's starter: a singleton per day. A sweep that is running or already completed today is not
 * started again (durable would replace a completed one); a failed or terminated one is, since every rotation
 * it starts is deduplicated per key version anyway.
 */
export async function startDailySweep(
  client: RotationStarterClient,
  settings: Pick<Settings, "hsms" | "vaults">,
  at: Date,
  input: RotationSweepInput,
  log: (line: string) => void = () => undefined,
): Promise<SweepStartOutcome> {
  const instanceId = sweepInstanceId(settings, at);
  const existing = await readInstanceStatus(client, instanceId);
  const status = existing?.runtimeStatus;
  if (status === "Completed") {
    log(`rotation sweep ${instanceId} already ran today; not started again`);
    return { kind: "alreadyRan", instanceId, status };
  }
  if (status === "Pending" || status === "Running" || status === "ContinuedAsNew" || status === "Suspended") {
    log(`rotation sweep ${instanceId} is still ${status}; not started again`);
    return { kind: "running", instanceId, status };
  }
  try {
    await client.startNew(orchestrationNames.rotationSweep, { instanceId, input });
  } catch (e) {
    if (isAlreadyStarted(e)) return { kind: "running", instanceId };
    throw e;
  }
  log(`rotation sweep ${instanceId} started`);
  return { kind: "started", instanceId };
}
