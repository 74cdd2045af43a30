import type { KeyRotatedData, KeyRotationFailedData } from "../events/lifecycleEventData";
import type { RetireVersionsInput } from "./types";

/**
 * Input of the `recordRotationOutcome` activity: the orchestration builds the event data (and any audit
 * details), the activity publishes it and writes the audit record.
 */
export type RotationOutcomeInput = (
  | { type: "KeyRotated"; data: KeyRotatedData }
  | { type: "KeyRotationFailed"; data: KeyRotationFailedData }
) & {
  id: string;
  time: string;
  /** Extra facts for the audit record only (checks run, stage, rule). */
  details?: Record<string, unknown>;
  /**
   * KeyRotated only: start this `retireVersions` instance too. Done in the same activity so a rotation costs
   * no more activity slots than a plain script doing the same work.
   */
  retirement?: { instanceId: string; input: RetireVersionsInput };
};
