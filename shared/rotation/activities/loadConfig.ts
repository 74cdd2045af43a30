import { instanceRef } from "../../instances/resolveConfiguredInstance";
import { rotationInstances, type Settings } from "../../config/settings";
import type { RotationConfig } from "../types";
import { readRotationPolicyFile } from "../readRotationPolicyFile";

/**
 * The sweep's configuration as plain data: the instances it acts on (primary HSMs and vaults, never drill
 * targets), the validated rotation policy (schema + service limits; a bad file fails the sweep with an error
 * naming the selector and the limit) and the batch size. Read in an activity so the orchestration never
 * touches settings or files and a replay sees the same config.
 */
export async function loadRotationConfig(settings: Pick<Settings, "hsms" | "vaults"> & { rotation: Pick<Settings["rotation"], "policyFile" | "batchSize"> }, baseDir?: string): Promise<RotationConfig> {
  // Names and kinds only: the sweep hands them on to per-key inputs, and activities resolve URLs themselves.
  const instances = rotationInstances(settings as Settings).map(instanceRef);
  const policy = await readRotationPolicyFile(settings.rotation.policyFile, instances, baseDir);
  return { instances, policy, batchSize: settings.rotation.batchSize };
}
