import type { TokenCredential } from "@azure/core-auth";
import type { Settings } from "../../config/settings";
import { manifestAuthenticator } from "../../backup/manifestAuthenticator";
import { blobServiceClientFor } from "../../storage/blobServiceClientFor";
import { blobKeyVersionRecords } from "./blobKeyVersionRecords";
import type { KeyVersionRecords } from "./keyVersionRecords";

/**
 * The app's key-version records: in ROTATION_PACING_CONTAINER (the rotation identity's only container, read and
 * write, no delete), authenticated with BACKUP_MANIFEST_KEY. Without that key (vaults only) there are none and
 * every rotation reads its key before rotating.
 */
export function versionRecordsFromSettings(settings: Pick<Settings, "storage" | "rotation">, credential: TokenCredential): KeyVersionRecords | undefined {
  if (settings.storage.manifestKey === undefined) return undefined;
  // Few, quick tries: a record that cannot be read or written only costs a GET, so it must never hold a rotation.
  const container = blobServiceClientFor(settings.storage, credential, { retryOptions: { maxTries: 2, retryDelayInMs: 200, tryTimeoutInMs: 10_000 } }).getContainerClient(settings.rotation.pacingContainer);
  return blobKeyVersionRecords(container, manifestAuthenticator(settings.storage.manifestKey));
}
