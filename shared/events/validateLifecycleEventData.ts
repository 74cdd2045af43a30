import Ajv, { type ValidateFunction } from "ajv";
import { LifecycleEventType } from "./lifecycleEventTypes";
import backupCompleted from "./schemas/backupCompleted.schema.json";
import backupFailed from "./schemas/backupFailed.schema.json";
import drillCompleted from "./schemas/drillCompleted.schema.json";
import drillFailed from "./schemas/drillFailed.schema.json";
import keyExpired from "./schemas/keyExpired.schema.json";
import keyNearExpiry from "./schemas/keyNearExpiry.schema.json";
import keyRotated from "./schemas/keyRotated.schema.json";
import keyRotationFailed from "./schemas/keyRotationFailed.schema.json";
import keyVersionCompromised from "./schemas/keyVersionCompromised.schema.json";
import operationRequest from "./schemas/operationRequest.schema.json";

/** The JSON Schema of each lifecycle event's `data`, as kept in `shared/events/schemas/`. */
export const lifecycleEventSchemas: Readonly<Record<LifecycleEventType, object>> = {
  [LifecycleEventType.KeyRotated]: keyRotated,
  [LifecycleEventType.KeyRotationFailed]: keyRotationFailed,
  [LifecycleEventType.BackupCompleted]: backupCompleted,
  [LifecycleEventType.BackupFailed]: backupFailed,
  [LifecycleEventType.DrillCompleted]: drillCompleted,
  [LifecycleEventType.DrillFailed]: drillFailed,
  [LifecycleEventType.KeyNearExpiry]: keyNearExpiry,
  [LifecycleEventType.KeyExpired]: keyExpired,
  [LifecycleEventType.OperationRequest]: operationRequest,
  [LifecycleEventType.KeyVersionCompromised]: keyVersionCompromised,
};

let validators: Map<string, ValidateFunction> | undefined;

function compiled(): Map<string, ValidateFunction> {
  if (!validators) {
    // strict: a typo in a schema (unknown keyword) fails loudly instead of validating nothing.
    const ajv = new Ajv({ allErrors: true, strict: true });
    validators = new Map(Object.entries(lifecycleEventSchemas).map(([type, schema]) => [type, ajv.compile(schema)]));
  }
  return validators;
}

/** Returns [] when `data` is valid for `type`, else one readable line per violation. */
export function validateLifecycleEventData(type: string, data: unknown): string[] {
  const validate = compiled().get(type);
  if (!validate) return [`"${type}" is not a lifecycle event type we publish.`];
  if (validate(data)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? "is invalid"}${e.params && "additionalProperty" in e.params ? ` (${String(e.params["additionalProperty"])})` : ""}`);
}
