/**
 * What the fleet's read-only views (status, plan, the fleet page) need: the app settings, the credential of each
 * workflow and clients built lazily from them. The CLI and the function app build one each, so both read the
 * fleet with the same code and the same least-privilege identities.
 */
import type { TokenCredential } from "@azure/core-auth";
import type { ContainerClient } from "@azure/storage-blob";
import type { Settings } from "../config/settings";
import { createKeyClients, readTlsCaFile, type KeyClients } from "../hsm/keyClients";
import { credentialFor, type Workload } from "../hsm/workloadCredential";
import { blobServiceClientFor } from "../storage/blobServiceClientFor";
import type { AuditRetryView } from "./auditRetryAttention";

export interface FleetContext {
  settings: Readonly<Settings>;
  /** Folder relative ROTATION_POLICY_FILE paths resolve from. */
  baseDir: string;
  /** The decision instant of status/plan. */
  now: Date;
  credential(workload: Workload): TokenCredential;
  keyClients(workload: Workload): KeyClients;
  /** PEM of HSM_TLS_CA_FILE (local emulator), or undefined in Azure. */
  ca: string | undefined;
  container(workload: Workload, name: string): ContainerClient;
  /**
   * The `auditRecordRetry` instances, from durable: the function app passes its durable client's; the CLI asks the
   * app (`GET /api/audit-retries`) when it has one. Absent: audit record retries are not checked.
   */
  auditRetries?: () => Promise<AuditRetryView[]>;
}

/** A context over `settings`; `credential` replaces the workflows' managed identities (the CLI's `--credential default`). */
export function fleetContextFrom(settings: Readonly<Settings>, options: { baseDir: string; now: Date; credential?: (workload: Workload) => TokenCredential }): FleetContext {
  const ca = settings.tlsCaFile === undefined ? undefined : readTlsCaFile(settings.tlsCaFile);
  const credential = options.credential ?? ((workload: Workload) => credentialFor(workload, settings));
  const keyClients = new Map<Workload, KeyClients>();
  return {
    settings,
    baseDir: options.baseDir,
    now: options.now,
    credential,
    ca,
    keyClients: (workload) => {
      let clients = keyClients.get(workload);
      if (clients === undefined) {
        clients = createKeyClients(credential(workload), { ...(ca === undefined ? {} : { ca }), emulatorMode: settings.emulatorMode });
        keyClients.set(workload, clients);
      }
      return clients;
    },
    container: (workload, name) => blobServiceClientFor(settings.storage, credential(workload)).getContainerClient(name),
  };
}
