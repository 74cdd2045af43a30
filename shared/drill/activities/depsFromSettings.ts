import type { TokenCredential } from "@azure/core-auth";
import type { Settings } from "../../config/settings";
import { blobBackupCandidateSource } from "../blobBackupCandidateSource";
import { manifestAuthenticator } from "../../backup/manifestAuthenticator";
import { reportIgnoredManifests } from "../../backup/reportIgnoredManifests";
import { LifecycleError } from "../../errors/lifecycleError";
import { blobSingleKeyGetLedger } from "../blobSingleKeyGetLedger";
import { drillStorageSas } from "../drillStorageSas";
import { emulatorHsmIdentityReader } from "../emulatorHsmIdentityReader";
import { armHsmIdentityReader } from "../armHsmIdentityReader";
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
 * identity (`credentialFor("drill", settings)`). HSM_TLS_CA_FILE only adds a trusted CA. Only in emulator mode
 * (HSM_EMULATOR=true, which the settings allow for loopback instances only) is the challenge-resource check off
 * and do HSM identities come from the emulator's `/_emulator/info`; otherwise they come from Azure Resource
 * Manager (`armHsmIdentityReader`, HSM_RESOURCE_IDS). Build once per worker: pipelines and token caches are shared.
 */
export function createDrillDeps(settings: Readonly<Settings>, credential: TokenCredential, options: DrillDepsOptions = {}): DrillDeps & DrillOutcomeDeps {
  const log = options.log === undefined ? undefined : redactingLog(options.log);
  const ca = settings.tlsCaFile === undefined ? undefined : readTlsCaFile(settings.tlsCaFile);
  const adminOptions: KeyVaultAdminClientOptions = {};
  if (ca !== undefined) adminOptions.tlsOptions = { ca };
  // The emulator answers for the real resource names from 127.0.0.1; the admin pipeline honours this for loopback hosts only.
  if (settings.emulatorMode) adminOptions.disableChallengeResourceVerification = true;
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
    keyClients: createKeyClients(credential, { ...(ca === undefined ? {} : { ca }), emulatorMode: settings.emulatorMode }),
    adminOptions,
    identityOf: settings.emulatorMode ? emulatorHsmIdentityReader(ca) : armHsmIdentityReader({ resourceIds: settings.hsmResourceIds, credential }),
    // Holds on backups go to the reports container: the drill only reads the backup container.
    backups: blobBackupCandidateSource(backupContainer, manifestAuthenticator(settings.storage.manifestKey), report, reports),
    backupContainerUrl,
    backupContainer,
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
