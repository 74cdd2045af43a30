/**
 * The credential each workflow runs as. Always a managed identity — in Azure the Functions host's identity
 * endpoint, locally the emulator's App Service-style identity endpoint (`IDENTITY_ENDPOINT` +
 * `IDENTITY_HEADER`, set by the local stack) — so the same code path acquires tokens in both places and no
 * secret ever sits in app settings. Each workflow may run as its own user-assigned identity, which is how
 * duties are separated: the rotation identity cannot back up or restore, the backup identity cannot rotate.
 */
import type { TokenCredential } from "@azure/core-auth";
import { ManagedIdentityCredential } from "@azure/identity";
import type { Settings } from "../config/settings";

export type Workload = "rotation" | "backup" | "retention" | "drill" | "steward" | "recovery";

const cache = new Map<string, TokenCredential>();

/**
 * The managed-identity credential of one workflow: the user-assigned identity named by
 * `<WORKLOAD>_IDENTITY_CLIENT_ID`, or the system-assigned identity when that setting is empty.
 * Credentials are cached per client id so token caching works across activity invocations.
 */
export function credentialFor(workload: Workload, settings: Pick<Settings, "identities">): TokenCredential {
  const clientId = settings.identities[workload];
  const cacheKey = clientId ?? "(system-assigned)";
  let credential = cache.get(cacheKey);
  if (credential === undefined) {
    credential = clientId === undefined ? new ManagedIdentityCredential() : new ManagedIdentityCredential({ clientId });
    cache.set(cacheKey, credential);
  }
  return credential;
}
