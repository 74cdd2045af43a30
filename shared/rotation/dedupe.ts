/**
 * Whether a per-key rotation may be started under its deterministic id, given what durable knows about that
 * id. Pure, so the batch (through the `claimRotations` activity) and the Event Grid starter decide the same.
 *
 * Durable REPLACES a Completed/Failed/Terminated instance that is started again under the same id, so "already
 * ran" must be checked here, not left to durable: a rotation that completed with a new version (rotated /
 * alreadyRotated) is never started again for the same version; one that is Pending/Running is left to finish. Only an
 * attempt that ended without a new version (failed or skipped value, Failed, Terminated) may run again: rotating is
 * idempotent per version (`rotateKeyVersion` checks the key is still at that version), so a retry can never
 * create a second new version.
 */
export type StartDecision = { start: true; replaces?: string } | { start: false; reason: string };

export function rotationStartDecision(existing: { runtimeStatus?: string; output?: unknown } | undefined): StartDecision {
  if (existing === undefined) return { start: true };
  const status = existing.runtimeStatus ?? "Unknown";
  if (status === "Pending" || status === "Running" || status === "ContinuedAsNew" || status === "Suspended") {
    return { start: false, reason: `already ${status.toLowerCase()}` };
  }
  if (status === "Completed") {
    const kind = (existing.output as { kind?: unknown } | null | undefined)?.kind;
    // A failed or policy-skipped attempt made no version: a later sweep or event may try again.
    if (kind === "failed" || kind === "skipped") return { start: true, replaces: `a completed attempt that ended ${kind} without a new version` };
    return { start: false, reason: `already completed (${typeof kind === "string" ? kind : "done"})` };
  }
  if (status === "Failed" || status === "Terminated" || status === "Canceled") return { start: true, replaces: `a ${status.toLowerCase()} attempt` };
  return { start: false, reason: `in state ${status}` };
}

/** `retire:{rotation id without its prefix}`: one retirement per rotation result. */
export function retirementInstanceId(rotationId: string, newVersion: string): string {
  const base = rotationId.startsWith("rotate:") ? rotationId.slice("rotate:".length) : rotationId;
  // Keep only the vault and key part of the rotation id, then name the version that must stay current.
  const parts = base.split(":");
  const vaultAndKey = parts.length > 1 ? parts.slice(0, -1).join(":") : base;
  return `retire:${vaultAndKey}:${newVersion.toLowerCase()}`.slice(0, 256);
}

/** `record:{vault}:{key}:{version}`: a foreign KeyNewVersionCreated is recorded once per version. */
export function recordInstanceId(rotationId: string): string {
  return `record:${rotationId.startsWith("rotate:") ? rotationId.slice("rotate:".length) : rotationId}`.slice(0, 256);
}
