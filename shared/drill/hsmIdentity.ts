/**
 * What an HSM reports about itself, used by the drill interlock to tell two HSMs apart even when they are
 * reached under different URLs (an alias, a private-endpoint name, `localhost` vs `127.0.0.1`).
 *
 * NOT the security domain: primary and DR share it on purpose (that is what makes the restore possible).
 */
export interface HsmIdentity {
  /** The HSM's own name (Azure: the resource name, unique per cloud; emulator: the instance name). */
  name: string;
  /** The canonical URL the HSM reports for itself (not the URL we used to reach it). */
  url: string;
  /** Informational only: equal on primary and DR. */
  securityDomainId?: string;
}

/** Reads an HSM's identity from the HSM (or its management plane). Must fail rather than guess. */
export type HsmIdentityReader = (hsmUrl: string) => Promise<HsmIdentity>;
