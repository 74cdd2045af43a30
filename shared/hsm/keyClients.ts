/**
 * The app's only import of `@azure/keyvault-keys`: builds `KeyClient` / `CryptographyClient` for a Managed HSM or
 * vault URL. Activities receive a `KeyClients` through their deps and use the SDK types re-exported here, so the
 * SDK stays behind one seam (and tests point the same code at the emulator).
 */
import { readFileSync } from "node:fs";
import type { TokenCredential } from "@azure/core-auth";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import { CryptographyClient, KeyClient, type KeyClientOptions, type KeyVaultKey } from "@azure/keyvault-keys";
import { LifecycleError } from "../errors/lifecycleError";

export type {
  CryptographyClient,
  KeyClient,
  KeyProperties,
  KeyRotationPolicy,
  KeyRotationLifetimeAction,
  KeyVaultKey,
} from "@azure/keyvault-keys";

export interface KeyClientsOptions {
  /** PEM text of a CA to trust in addition to the system store (the emulator's ca.pem). */
  ca?: string;
  /** Path of that PEM (the HSM_TLS_CA_FILE setting); read once here. Ignored when `ca` is given. */
  tlsCaFile?: string;
  /** SDK retry settings; tests turn retries off so every attempt is visible. */
  retryOptions?: KeyClientOptions["retryOptions"];
}

/**
 * Clients per instance URL, cached: one pipeline (token cache and challenge cache) per instance, shared by
 * every CryptographyClient of that instance. Build one `KeyClients` per worker, not per activity call.
 */
export interface KeyClients {
  /** KeyClient for an instance origin (`https://host[:port]`). */
  keys(instanceUrl: string): KeyClient;
  /**
   * CryptographyClient bound to an exact, versioned key id (`https://host/keys/name/version`), or to a key
   * already read (its `id` is versioned): then no extra GET, and public-key operations run locally against
   * the service's public key, which is what a consumer does.
   */
  crypto(key: string | KeyVaultKey): CryptographyClient;
}

/**
 * Creates the key clients for the app's identity.
 *
 * Example:
 * ```ts
 * const clients = createKeyClients(new DefaultAzureCredential(), { tlsCaFile: settings.tlsCaFile });
 * const key = await clients.keys("https://contoso.managedhsm.azure.net").getKey("pay-1");
 * ```
 */
export function createKeyClients(credential: TokenCredential, options: KeyClientsOptions = {}): KeyClients {
  const ca = options.ca ?? (options.tlsCaFile === undefined || options.tlsCaFile === "" ? undefined : readTlsCaFile(options.tlsCaFile));
  const keyClients = new Map<string, KeyClient>();
  const cryptoClients = new Map<string, CryptographyClient>();
  const keys = (instanceUrl: string): KeyClient => {
    const origin = instanceUrl.replace(/\/+$/, "");
    let client = keyClients.get(origin);
    if (client === undefined) {
      client = new KeyClient(origin, credential, { ...keyClientOptionsFor(origin, ca, options.retryOptions), additionalPolicies: [{ policy: firstRequestAlone(), position: "perCall" }] });
      keyClients.set(origin, client);
    }
    return client;
  };
  return {
    keys,
    crypto(key) {
      if (typeof key !== "string") {
        if (key.id === undefined) throw new RangeError("crypto(key): the key has no id; read it with KeyClient.getKey first.");
        return new CryptographyClient(key, credential, sharedPipeline(keys(originOf(key.id)), keyClientOptionsFor(key.id, ca, options.retryOptions)));
      }
      let client = cryptoClients.get(key);
      if (client === undefined) {
        client = new CryptographyClient(key, credential, sharedPipeline(keys(originOf(key)), keyClientOptionsFor(key, ca, options.retryOptions)));
        cryptoClients.set(key, client);
      }
      return client;
    },
  };
}

/**
 * Holds every request of a pipeline until its first one has come back. WHY: the SDK's Key Vault challenge
 * policy sends the first request without its body to fetch the challenge, and when a concurrent request
 * completes the challenge first, that first request is resent WITHOUT its body (a create or a sign then fails
 * as a bad request). One pipeline per HSM shared by every activity of a worker makes concurrent first requests
 * the normal case, so the first one goes alone.
 */
function firstRequestAlone(): PipelinePolicy {
  let first: Promise<unknown> | undefined;
  let done = false;
  return {
    name: "hsmLifecycleFirstRequestAlone",
    async sendRequest(request, next) {
      if (done) return next(request);
      if (first === undefined) {
        const response = next(request);
        first = response.catch(() => undefined).finally(() => (done = true));
        return response;
      }
      await first;
      return next(request);
    },
  };
}

/** `https://host[:port]` of a key id. */
function originOf(keyId: string): string {
  return new URL(keyId).origin;
}

/**
 * The CryptographyClient options that make it send through the instance's KeyClient pipeline, as
 * `KeyClient.getCryptographyClient` does (`generatedClient`, an option the SDK reads but does not type).
 * WHY: each pipeline has its own challenge cache, so a CryptographyClient per key version costs one
 * unauthenticated 401 round trip per rotated key; sharing the KeyClient's costs one per HSM per worker.
 * `getCryptographyClient` itself is not used because it takes an id, and an id makes the SDK GET the key
 * before the first operation; a key object needs no GET.
 */
function sharedPipeline(keyClient: KeyClient, options: KeyClientOptions): KeyClientOptions {
  const generatedClient = (keyClient as unknown as { client?: unknown }).client;
  if (generatedClient === undefined) return options;
  return { ...options, generatedClient } as KeyClientOptions;
}

/** Azure's Key Vault and Managed HSM DNS suffixes (public and sovereign clouds): the SDK's challenge check applies. */
const azureKeyVaultHosts = /\.(vault\.azure\.net|managedhsm\.azure\.net|vault\.azure\.cn|managedhsm\.azure\.cn|vault\.usgovcloudapi\.net|managedhsm\.usgovcloudapi\.net|vault\.microsoftazure\.de)$/i;

/**
 * SDK options for one URL. The CA is added only when configured (Azure needs none). The challenge-resource
 * check stays on for Azure hosts: turning it off there would let a look-alike host receive our tokens. The
 * emulator on 127.0.0.1 answers for the real resource names, so the check must be off for it.
 */
export function keyClientOptionsFor(url: string, ca: string | undefined, retryOptions?: KeyClientOptions["retryOptions"]): KeyClientOptions {
  const host = new URL(url).hostname;
  const options: KeyClientOptions = {};
  if (ca !== undefined) options.tlsOptions = { ca };
  if (!azureKeyVaultHosts.test(host)) options.disableChallengeResourceVerification = true;
  if (retryOptions !== undefined) options.retryOptions = retryOptions;
  return options;
}

/** Reads the HSM_TLS_CA_FILE PEM; a missing or unreadable file is a settings error naming the fix. */
export function readTlsCaFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    const why = e instanceof Error && "code" in e ? String((e as NodeJS.ErrnoException).code) : String(e);
    throw new LifecycleError(
      "SettingsInvalid",
      `HSM_TLS_CA_FILE "${path}" cannot be read (${why}). Fix: point it at the emulator's ca.pem, or leave it unset in Azure.`,
      e,
    );
  }
}
