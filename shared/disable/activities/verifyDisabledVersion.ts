import type { RequestAuditDeps } from "../../approvals/activities/recordRequestStep";
import { configuredInstance, type RotationDeps } from "../../rotation/activities/deps";
import { rotationFailure } from "../../rotation/activities/failure";
import { auditHandOff, tryWriteAuditRecord, type AuditRecordOutcome } from "../../storage/tryWriteAuditRecord";
import type { EarlyDisableTarget } from "../planEarlyDisable";

export interface VerifyDisabledVersionInput extends EarlyDisableTarget {
  request: string;
  ticket: string;
  /** What `disableKeyVersion` answered (disabled, or alreadyDisabled by an earlier attempt). */
  outcome: string;
  /** Orchestration time, for the audit record. */
  at: string;
}

export interface VerifyDisabledVersionOutput {
  kind: "verified" | "failed";
  /** The version as read back (false once disabled). */
  enabled: boolean | undefined;
  /** The key's current version, read back: it stays enabled. */
  current: string;
  audit: AuditRecordOutcome;
}

/**
 * Activity `verifyDisabledVersion`: reads the version back (it must say `enabled: false`) and the key's current
 * version (untouched), then writes the audit record `{AUDIT_CONTAINER}/rotation/requests/{request}/disabled-{version}.json`
 * (write-once; beside the request's own records, inside the rotation identity's `rotation/*` path condition; a
 * failed write is handed to `auditRecordRetry` as that identity). Runs
 * as the rotation identity (keys/read).
 */
export async function verifyDisabledVersion(input: VerifyDisabledVersionInput, deps: Pick<RotationDeps, "clients" | "instances"> & Pick<RequestAuditDeps, "auditContainer" | "starter" | "logError"> & { now?: () => Date }): Promise<VerifyDisabledVersionOutput> {
  const instance = configuredInstance(input.instance, deps, "verifyDisabledVersion");
  const client = deps.clients.keys(instance.url);
  let enabled: boolean | undefined;
  let current: string;
  try {
    enabled = (await client.getKey(input.key, { version: input.version })).properties.enabled;
    current = (await client.getKey(input.key)).properties.version ?? "";
  } catch (e) {
    throw rotationFailure(e, instance, "read the disabled version back", `${input.key}/${input.version}`);
  }
  const out: Omit<VerifyDisabledVersionOutput, "audit"> = { kind: enabled === false && current !== input.version ? "verified" : "failed", enabled, current };
  const blob = `rotation/requests/${input.request}/disabled-${input.version}.json`;
  const record = { schema: "hsm-lifecycle/audit/early-disable", schemaVersion: 1, recordedAt: input.at, request: input.request, ticket: input.ticket, instance: instance.name, keyName: input.key, version: input.version, outcome: input.outcome, ...out };
  return { ...out, audit: await tryWriteAuditRecord(deps.auditContainer, blob, record, auditHandOff("rotation", deps)) };
}
