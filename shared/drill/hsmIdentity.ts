/**
 * What the drill interlock knows about an HSM from a source other than our own settings, used to tell HSMs
 * apart even when they are reached under different URLs, and to prove that the HSM behind a configured name
 * really is the one its owners declared.
 *
 * NOT the security domain: primary and DR share it on purpose (that is what makes the restore possible).
 */
export interface HsmIdentity {
  /** The HSM's own name (Azure: the ARM resource name; emulator: the instance name). */
  name: string;
  /** The canonical URL the source gives for the HSM (ARM `properties.hsmUri`), not the URL we used. */
  url: string;
  /**
   * Where these facts came from. `arm`: the management plane (`Microsoft.KeyVault/managedHSMs/{name}`), read
   * with our identity over Azure's TLS — nothing the HSM (or whoever answers at its URL) can influence.
   * `emulatorSelfReport`: the local emulator's unauthenticated `/_emulator/info`, used in emulator mode only.
   */
  source: "arm" | "emulatorSelfReport";
  /** ARM resource id (source `arm`). */
  resourceId?: string;
  /** The `hsm-lifecycle-role` tag on the ARM resource (source `arm`): `drill-target` on a DR HSM. */
  declaredRole?: string;
  /** Informational only: equal on primary and DR. */
  securityDomainId?: string;
}

/** The ARM tag (name and value) that declares an HSM a DR HSM a drill may restore into. */
export const DRILL_TARGET_TAG = { name: "hsm-lifecycle-role", value: "drill-target" } as const;

/** Reads a configured HSM's identity from a source the HSM cannot fake. Must fail rather than guess. */
export type HsmIdentityReader = (hsm: { name: string; url: string }) => Promise<HsmIdentity>;
