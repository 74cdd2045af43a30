import { appSettings } from "../app/appSettings";
import { credentialFor } from "../hsm/workloadCredential";
import { blobServiceClientFor } from "../storage/blobServiceClientFor";
import { blobRequestIndex, type RequestIndex } from "./requestIndex";

let index: RequestIndex | undefined;

/**
 * The app's request index: ROTATION_PACING_CONTAINER as the rotation identity (HSM Lifecycle Blob Writer there:
 * read, write, no delete), built once per worker on first use.
 */
export function requestIndexFromSettings(): RequestIndex {
  if (index !== undefined) return index;
  const settings = appSettings();
  // Few, quick tries: a request route or a request step must not hang on the index.
  const service = blobServiceClientFor(settings.storage, credentialFor("rotation", settings), { retryOptions: { maxTries: 3, retryDelayInMs: 200, tryTimeoutInMs: 10_000 } });
  index = blobRequestIndex(service.getContainerClient(settings.rotation.pacingContainer));
  return index;
}
