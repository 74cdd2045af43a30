import { fromRestError } from "../errors/fromRestError";
import type { LifecycleError } from "../errors/lifecycleError";

/**
 * Maps a failed Blob call to a `LifecycleError`: 404 ContainerNotFound → `ContainerNotFound`, no answer →
 * `StorageUnreachable`, 403 → the role the app's identity needs on the account. The resource is passed
 * without its query string, so a SAS never reaches a message.
 */
export function storageFailure(e: unknown, operation: string, resource: string): LifecycleError {
  return fromRestError(e, { service: "storage", operation, resource: resource.split("?")[0] ?? resource, requiredRole: "Storage Blob Data Contributor" });
}
