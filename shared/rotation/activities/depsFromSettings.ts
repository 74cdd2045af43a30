import type { TokenCredential } from "@azure/core-auth";
import type { Settings } from "../../config/settings";
import { createLifecyclePublisher, lifecyclePublisherCredential } from "../../events/lifecyclePublisher";
import { createKeyClients, readTlsCaFile, type KeyClientsOptions } from "../../hsm/keyClients";
import { redactingLog } from "../../errors/redactSecrets";
import type { RotationDeps } from "./deps";

export interface RotationDepsOptions {
  /** SDK retries for the key clients (default: the SDK's). Durable retries come on top. */
  retryOptions?: KeyClientsOptions["retryOptions"];
  log?: (line: string) => void;
  now?: () => Date;
}

/**
 * The composition root for the rotation activities: key clients for the app's identity (trusting
 * HSM_TLS_CA_FILE only when set) and the lifecycle-topic publisher (topic key when configured, else the
 * identity, which then needs "EventGrid Data Sender"). Build it once per worker, not per activity call, so
 * pipelines and token caches are shared.
 */
export function createRotationDeps(
  settings: Pick<Settings, "tlsCaFile" | "lifecycleTopic">,
  credential: TokenCredential,
  options: RotationDepsOptions = {},
): RotationDeps {
  const log = options.log === undefined ? undefined : redactingLog(options.log);
  const ca = settings.tlsCaFile === undefined ? undefined : readTlsCaFile(settings.tlsCaFile);
  const clientOptions: KeyClientsOptions = {};
  if (ca !== undefined) clientOptions.ca = ca;
  if (options.retryOptions !== undefined) clientOptions.retryOptions = options.retryOptions;
  const publisher = createLifecyclePublisher({
    endpoint: settings.lifecycleTopic.endpoint,
    credential: lifecyclePublisherCredential(settings.lifecycleTopic.key, credential),
    ...(ca === undefined ? {} : { clientOptions: { tlsOptions: { ca } } }),
    ...(log === undefined ? {} : { log }),
  });
  const deps: RotationDeps = { clients: createKeyClients(credential, clientOptions), publisher };
  if (log !== undefined) deps.log = log;
  if (options.now !== undefined) deps.now = options.now;
  return deps;
}
