import { DAY_IN_MS } from "./isoDuration";

/**
 * Service limits the policy is checked against at load (docs: Managed HSM key-rotation.md, Key Vault
 * how-to-configure-key-rotation.md; see shared/reference/managed-hsm-api.md §5.2, §5.4).
 */
export const serviceLimits = {
  managedHsm: {
    /** "cannot mandate that new key versions be created more frequently than once every 28 days" */
    minRotationIntervalMs: 28 * DAY_IN_MS,
    /** "Managed HSM has a limit of 100 versions per key" */
    maxVersionsPerKey: 100,
  },
  vault: {
    /** rotation time minimum: 7 days from creation and 7 days before expiry */
    minRotationIntervalMs: 7 * DAY_IN_MS,
    minRotateBeforeExpiryMs: 7 * DAY_IN_MS,
    /** policy expiryTime ("expiresIn") must be at least 28 days */
    minNewVersionExpiryMs: 28 * DAY_IN_MS,
  },
} as const;

/** Largest fan-out batch: each started sub-orchestration adds history events to the parent. */
export const MAX_BATCH_SIZE = 200;
