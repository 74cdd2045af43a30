import type { TokenCredential } from "@azure/core-auth";
import type { Settings } from "../../config/settings";
import { blobBackupCandidateSource } from "../blobBackupCandidateSource";
import { manifestAuthenticator } from "../../backup/manifestAuthenticator";
import { reportIgnoredManifests } from "../../backup/reportIgnoredManifests";
import { LifecycleError } from "../../errors/lifecycleError";
import { blobSingleKeyGetLedger } from "../blobSingleKeyGetLedger";
import { drillStorageSas } from "../drillStorageSas";
import { emulatorHsmIdentityReader } from "../emulatorHsmIdentityReader";
import type { HsmIdentityReader } from "../hsmIdentity";
import { SENTINEL_DAILY_GET_LIMIT } from "../singleKeyGetBudget";
import { createLifecyclePublisher, lifecyclePublisherCredential } from "../../events/lifecyclePublisher";
import { createKeyClients, readTlsCaFile } from "../../hsm/keyClients";
import { redactingLog } from "../../errors/redactSecrets";
import type { KeyVaultAdminClientOptions } from "../../hsm/adminPipeline";
import { blobServiceClientFor } from "../../storage/blobServiceClientFor";
import type { DrillDeps } from "./deps";
import type { DrillOutcomeDeps } from "./recordOutcome";

export interface DrillDepsOptions {
  log?: (line: string) => void;
  now?: () => Date;
}

/**
 * The composition root of the drill activities (and `recordDrillOutcome`): everything runs as the drill's
 * identity (`credentialFor("drill", settings)`). With HSM_TLS_CA_FILE (the local emulator) the emulator's CA is
 * trusted and HSM identities come from its `/_emulator/info`; in Azure they come from the HSM's DNS name (see
 * `azureHsmIdentityReader`). Build once per worker: pipelines and token caches are shared.
 */
export function createDrillDeps(settings: Readonly<Settings>, credential: TokenCredential, options: DrillDepsOptions = {}): DrillDeps & DrillOutcomeDeps {
  const log = options.log === undefined ? undefined : redactingLog(options.log);
  const ca = settings.tlsCaFile === undefined ? undefined : readTlsCaFile(settings.tlsCaFile);
  const adminOptions: KeyVaultAdminClientOptions = {};
  if (ca !== undefined) {
    adminOptions.tlsOptions = { ca };
    // The emulator answers for the real resource names from 127.0.0.1, so the SDK's host check must be off there.
    adminOptions.disableChallengeResourceVerification = true;
  }
  const blobService = blobServiceClientFor(settings.storage, credential);
  const backupContainer = blobService.getContainerClient(settings.storage.backupContainer);
  const reports = blobService.getContainerClient(settings.storage.drillReportsContainer);
  const audit = blobService.getContainerClient(settings.storage.auditContainer);
  if (settings.storage.manifestKey === undefined) {
    throw new LifecycleError("SettingsInvalid", "BACKUP_MANIFEST_KEY is missing: a drill restores only authenticated backups. Fix: set the key the backup workflow uses.");
  }
  const backupContainerUrl = backupContainer.url.split("?")[0] ?? backupContainer.url;
  // The activity's own log when it passes one (per invocation), else the worker's.
  const report = (ignored: Parameters<typeof reportIgnoredManifests>[0], activityLog?: (line: string) => void): Promise<unknown> => {
    const sink = activityLog ?? log;
    return reportIgnoredManifests(ignored, { workflow: "drill", container: backupContainerUrl, now: options.now?.() ?? new Date() }, { auditContainer: audit, ...(sink === undefined ? {} : { log: redactingLog(sink) }) });
  };
  const deps: DrillDeps & DrillOutcomeDeps = {
    settings,
    credential,
    keyClients: createKeyClients(credential, ca === undefined ? {} : { ca }),
    adminOptions,
    identityOf: ca === undefined ? azureHsmIdentityReader : emulatorHsmIdentityReader(ca),
    backups: blobBackupCandidateSource(backupContainer, manifestAuthenticator(settings.storage.manifestKey), report),
    backupContainerUrl,
    reports,
    audit,
    getLedger: blobSingleKeyGetLedger(reports, settings.identities.drill ?? "system-assigned", SENTINEL_DAILY_GET_LIMIT),
    publisher: createLifecyclePublisher({
      endpoint: settings.lifecycleTopic.endpoint,
      credential: lifecyclePublisherCredential(settings.lifecycleTopic.key, credential),
      ...(ca === undefined ? {} : { clientOptions: { tlsOptions: { ca } } }),
      ...(log === undefined ? {} : { log }),
    }),
  };
  if (settings.storage.backupAuth === "sas") deps.storageSas = drillStorageSas(blobService, settings.storage.backupContainer, settings.adminJobTimeoutMs, options.now);
  if (log !== undefined) deps.log = log;
  if (options.now !== undefined) deps.now = options.now;
  return deps;
}

/**
 * Identity of an Azure Managed HSM from its DNS name (`{name}.managedhsm.azure.net`, unique per cloud). It
 * refuses any other host rather than guess: an alias or private-endpoint name cannot be resolved to an HSM
 * without the management plane, so the interlock fails closed.
 */
export const azureHsmIdentityReader: HsmIdentityReader = async (hsmUrl) => {
  const host = new URL(hsmUrl).hostname.toLowerCase();
  const match = /^([a-z0-9-]+)\.managedhsm\.(azure\.net|azure\.cn|usgovcloudapi\.net)$/.exec(host);
  if (match === null || match[1] === undefined) {
    throw new Error(`${hsmUrl} is not a Managed HSM host name (<name>.managedhsm.azure.net); its identity cannot be proven. Configure the HSM by its own host name.`);
  }
  return { name: match[1], url: `https://${host}` };
};
