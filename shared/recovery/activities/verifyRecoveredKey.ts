import { fromRestError } from "../../errors/fromRestError";
import { resolveConfiguredInstance, type InstanceRef } from "../../instances/resolveConfiguredInstance";
import { probeKeyVersion } from "../../rotation/activities/cryptoProbe";
import { auditHandOff, tryWriteAuditRecord, type AuditRecordOutcome } from "../../storage/tryWriteAuditRecord";
import type { RecoveryDeps } from "../recoveryDeps";
import type { RecoverKeyOutput } from "./recoverKey";

export interface VerifyRecoveredKeyInput {
  request: string;
  instance: InstanceRef;
  key: string;
  recovered: RecoverKeyOutput;
  /** Orchestration time of the verification, for the audit record. */
  at: string;
}

export interface VerifyRecoveredKeyOutput {
  kind: "verified" | "failed";
  version: string;
  checks: string[];
  /** Why it failed: a failed round trip, or versions the backup listed that did not come back. */
  reason?: string;
  audit: AuditRecordOutcome;
}

/**
 * Activity `verifyRecoveredKey`: the recovered key's current version must work — the same crypto round trip rotation
 * verifies a new version with (`probeKeyVersion`: sign + local verify or local wrap + remote unwrap per key type) —
 * and a restore must have brought back every version the backup's manifest lists. Writes the audit record
 * `{AUDIT_CONTAINER}/recovery/{request}.json` (write-once; a failed write is handed to `auditRecordRetry`, which
 * writes as the recovery identity too). Runs as the recovery identity.
 */
export async function verifyRecoveredKey(input: VerifyRecoveredKeyInput, deps: RecoveryDeps): Promise<VerifyRecoveredKeyOutput> {
  const hsm = resolveConfiguredInstance(input.instance, deps.settings.hsms.filter((h) => h.role === "primary"), "verifyRecoveredKey");
  let key;
  try {
    key = await deps.keyClients.keys(hsm.url).getKey(input.key);
  } catch (e) {
    throw fromRestError(e, { service: "managedHsm", operation: "read the recovered key", resource: `${hsm.url}/keys/${input.key}`, requiredRole: "HSM Lifecycle Recovery" });
  }
  const probe = await probeKeyVersion(key, deps.keyClients.crypto(key), hsm, { prefer: "sign" });
  const missing = input.recovered.path === "restored" ? input.recovered.expectedVersions.filter((v) => !input.recovered.versions.includes(v)) : [];
  const out: Omit<VerifyRecoveredKeyOutput, "audit"> = { kind: probe.kind === "verified" && missing.length === 0 ? "verified" : "failed", version: key.properties.version ?? "", checks: probe.checks };
  if (probe.kind === "failed") out.reason = `the crypto round trip failed: ${probe.reason}`;
  else if (missing.length > 0) out.reason = `the backup listed version(s) ${missing.join(", ")}, which did not come back`;
  const blob = `recovery/${input.request}.json`;
  const record = { schema: "hsm-lifecycle/audit/key-recovery", schemaVersion: 1, recordedAt: input.at, request: input.request, instance: hsm.name, keyName: input.key, ...input.recovered, ...out };
  return { ...out, audit: await tryWriteAuditRecord(deps.audit, blob, record, auditHandOff("recovery", deps)) };
}
