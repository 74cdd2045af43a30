import { fromRestError, type RoleName } from "../../errors/fromRestError";
import type { LifecycleError } from "../../errors/lifecycleError";
import type { ConfiguredRotationInstance, RotationInstance } from "./deps";

/**
 * Which role a rotation step needs: the lifecycle's own custom role (shared/rbac/lifecycleRoles.ts), which holds
 * read, write, rotate and the verification's crypto, and none of create, delete, purge, import, backup or restore.
 */
export function roleFor(instance: RotationInstance): RoleName {
  return instance.kind === "managedHsm" ? "HSM Lifecycle Rotation" : "Vault Lifecycle Rotation";
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
