import type { TokenCredential } from "@azure/core-auth";
import type { ContainerClient } from "@azure/storage-blob";
import type { Settings } from "../../config/settings";
import type { BackupCandidateSource } from "../backupCandidate";
import type { HsmIdentityReader } from "../hsmIdentity";
import type { SingleKeyGetLedger } from "../blobSingleKeyGetLedger";
import type { DrillStorageSas } from "../drillStorageSas";
import type { KeyVaultAdminClientOptions } from "../../hsm/adminPipeline";
import type { KeyClients } from "../../hsm/keyClients";

/**
 * What the drill activities need from the outside world, built once per worker and passed in (tests point it
 * at the emulator and Azurite). Activities never read `process.env`; settings arrive already validated.
 */
export interface DrillDeps {
  settings: Pick<Settings, "hsms" | "drillPairs" | "objectives">;
  /** The drill identity (managed identity in Azure; the emulator's credential locally). */
  credential: TokenCredential;
  keyClients: KeyClients;
  /** Options for the admin clients (backup/restore, RBAC): the CA and challenge check as for `keyClients`. */
  adminOptions: KeyVaultAdminClientOptions;
  identityOf: HsmIdentityReader;
  backups: BackupCandidateSource;
  /** Container URL (no SAS) the DR HSM writes its own pre-restore backup into with its managed identity. */
  backupContainerUrl: string;
  /** Set for `BACKUP_AUTH=sas` (see `drillStorageSas`); unset, the HSMs use their managed identity. */
  storageSas?: DrillStorageSas;
  /** The drill-reports container (DRILL_REPORTS_CONTAINER). */
  reports: ContainerClient;
  /** BACKUP_CONTAINER, read only: the report names the SHA-256 of the manifest it restored. */
  backupContainer?: ContainerClient;
  /**
   * The identity's daily single-key GET ledger (`blobSingleKeyGetLedger` in the drill-reports container): probes
   * reserve their GETs here first, so all of a day's drills together stay under Sentinel's threshold. Without it
   * only the activity's own `getBudget` applies.
   */
  getLedger?: SingleKeyGetLedger;
  now?: () => Date;
  /** One line per notable action; never key material, never tag values. */
  log?: (line: string) => void;
}

/** The clock of the activity (`deps.now` in tests). */
export function drillNow(deps: Pick<DrillDeps, "now">): Date {
  return deps.now?.() ?? new Date();
}
