/**
 * The app's only import of `@azure/keyvault-keys`: builds `KeyClient` / `CryptographyClient` for a Managed HSM or
 * vault URL. Activities receive a `KeyClients` through their deps and use the SDK types re-exported here, so the
 * SDK stays behind one seam (and tests point the same code at the emulator).
 */
import { readFileSync } from "node:fs";
import type { TokenCredential } from "@azure/core-auth";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import { CryptographyClient, KeyClient, type KeyClientOptions, type KeyVaultKey } from "@azure/keyvault-keys";
import { isLoopbackHost } from "../config/loopbackHost";
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
  /** HSM_EMULATOR: the challenge-resource check is off for loopback hosts only (see `keyClientOptionsFor`). */
  emulatorMode?: boolean;
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
 * const clients = createKeyClients(new DefaultAzureCredential(), { tlsCaFile: settings.tlsCaFile, emulatorMode: settings.emulatorMode });
 * const key = await clients.keys("https://contoso.managedhsm.azure.net").getKey("pay-1");
 * ```
 */
export function createKeyClients(credential: TokenCredential, options: KeyClientsOptions = {}): KeyClients {
  const ca = options.ca ?? (options.tlsCaFile === undefined || options.tlsCaFile === "" ? undefined : readTlsCaFile(options.tlsCaFile));
  const keyClients = new Map<string, KeyClient>();
  const cryptoClients = new Map<string, CryptographyClient>();
  const trust: ClientTrust = { ca, emulatorMode: options.emulatorMode };
  const keys = (instanceUrl: string): KeyClient => {
    const origin = instanceUrl.replace(/\/+$/, "");
    let client = keyClients.get(origin);
    if (client === undefined) {
      client = new KeyClient(origin, credential, { ...keyClientOptionsFor(origin, trust, options.retryOptions), additionalPolicies: [{ policy: firstRequestAlone(), position: "perCall" }] });
      keyClients.set(origin, client);
    }
    return client;
  };
  return {
    keys,
    crypto(key) {
      if (typeof key !== "string") {
        if (key.id === undefined) throw new RangeError("crypto(key): the key has no id; read it with KeyClient.getKey first.");
        return new CryptographyClient(key, credential, sharedPipeline(keys(originOf(key.id)), keyClientOptionsFor(key.id, trust, options.retryOptions)));
      }
      let client = cryptoClients.get(key);
      if (client === undefined) {
        client = new CryptographyClient(key, credential, sharedPipeline(keys(originOf(key)), keyClientOptionsFor(key, trust, options.retryOptions)));
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

/** What the client trusts: an extra CA (HSM_TLS_CA_FILE) and whether the instances are the local emulator. */
export interface ClientTrust {
  ca?: string | undefined;
  emulatorMode?: boolean | undefined;
}

/**
 * SDK options for one URL. The CA is added only when configured (Azure needs none); it only adds trust. The
 * SDK's challenge-resource check (the 401 challenge's resource must belong to the host we called, else no
 * token is sent) stays on for every host, except in emulator mode for a loopback host: the emulator answers
 * for the real resource names (`https://managedhsm.azure.net`) from 127.0.0.1.
 */
export function keyClientOptionsFor(url: string, trust: ClientTrust, retryOptions?: KeyClientOptions["retryOptions"]): KeyClientOptions {
  const options: KeyClientOptions = {};
  if (trust.ca !== undefined) options.tlsOptions = { ca: trust.ca };
  if (challengeCheckOff(url, trust.emulatorMode === true)) options.disableChallengeResourceVerification = true;
  if (retryOptions !== undefined) options.retryOptions = retryOptions;
  return options;
}

/** True only when emulator mode is on AND the URL's host is loopback; any other host keeps the check. */
export function challengeCheckOff(url: string, emulatorMode: boolean): boolean {
  return emulatorMode && isLoopbackHost(new URL(url).hostname);
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
