import type { TokenCredential } from "@azure/core-auth";
import type { Settings } from "../../config/settings";
import { blobServiceClientFor } from "../../storage/blobServiceClientFor";
import { blobSlotStore } from "./blobSlotStore";
import { createPacer, type CreatePacer } from "./createPacer";

/**
 * The app's key-creation pacer: HSM_CREATE_RATE per instance, slots in ROTATION_PACING_CONTAINER of the
 * lifecycle storage account, so every worker of a scaled-out app draws from the same slots.
 */
export function pacerFromSettings(settings: Pick<Settings, "storage" | "rotation">, credential: TokenCredential): CreatePacer {
  // Few, quick tries: a slot read or write that hangs would hold a rotation; the durable retry comes on top.
  const container = blobServiceClientFor(settings.storage, credential, { retryOptions: { maxTries: 3, retryDelayInMs: 200, tryTimeoutInMs: 10_000 } }).getContainerClient(settings.rotation.pacingContainer);
  const { createRate } = settings.rotation;
  return createPacer(blobSlotStore(container), { rateFor: (instance) => createRate.byInstance[instance.name] ?? createRate.default });
}
