import { fromRestError, type RoleName } from "../../errors/fromRestError";
import type { LifecycleError } from "../../errors/lifecycleError";
import type { ConfiguredRotationInstance, RotationInstance } from "./deps";

/**
 * Which built-in role a rotation step needs. Managed HSM: "Managed HSM Crypto User" carries read, write,
 * rotate and every crypto action (Crypto Officer manages roles but cannot touch key material or even read
 * keys), so it is the one role the rotation identity needs. Vault: rotate, rotation policy and updates need
 * "Key Vault Crypto Officer"; Crypto User lacks them.
 */
export function roleFor(instance: RotationInstance): RoleName {
  return instance.kind === "managedHsm" ? "Managed HSM Crypto User" : "Key Vault Crypto Officer";
}

/** Maps an SDK failure of one rotation step to a `LifecycleError` naming the cause, the role and the fix. */
export function rotationFailure(e: unknown, instance: ConfiguredRotationInstance, operation: string, resource: string): LifecycleError {
  return fromRestError(e, {
    service: instance.kind === "managedHsm" ? "managedHsm" : "vault",
    operation,
    resource: `${instance.url}/keys/${resource}`,
    requiredRole: roleFor(instance),
  });
}
