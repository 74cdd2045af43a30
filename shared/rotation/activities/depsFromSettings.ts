import type { TokenCredential } from "@azure/core-auth";
import { rotationInstances, type Settings } from "../../config/settings";
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
 * The composition root for the rotation activities: the configured instances (the only URLs the activities
 * call), key clients for the app's identity (trusting HSM_TLS_CA_FILE only when set; challenge check off
 * only in emulator mode for loopback hosts) and the lifecycle-topic publisher (topic key when configured, else the
 * identity, which then needs "EventGrid Data Sender"). Build it once per worker, not per activity call, so
 * pipelines and token caches are shared.
 */
export function createRotationDeps(
  settings: Pick<Settings, "tlsCaFile" | "emulatorMode" | "lifecycleTopic" | "hsms" | "vaults">,
  credential: TokenCredential,
  options: RotationDepsOptions = {},
): RotationDeps {
  const log = options.log === undefined ? undefined : redactingLog(options.log);
  const ca = settings.tlsCaFile === undefined ? undefined : readTlsCaFile(settings.tlsCaFile);
  const clientOptions: KeyClientsOptions = {};
  if (ca !== undefined) clientOptions.ca = ca;
  if (settings.emulatorMode) clientOptions.emulatorMode = true;
  if (options.retryOptions !== undefined) clientOptions.retryOptions = options.retryOptions;
  const publisher = createLifecyclePublisher({
    endpoint: settings.lifecycleTopic.endpoint,
    credential: lifecyclePublisherCredential(settings.lifecycleTopic.key, credential),
    ...(ca === undefined ? {} : { clientOptions: { tlsOptions: { ca } } }),
    ...(log === undefined ? {} : { log }),
  });
  const instances = rotationInstances(settings as Settings).map((i) => ({ name: i.name, kind: i.kind, url: i.url }));
  const deps: RotationDeps = { clients: createKeyClients(credential, clientOptions), instances, publisher };
  if (log !== undefined) deps.log = log;
  if (options.now !== undefined) deps.now = options.now;
  return deps;
}
