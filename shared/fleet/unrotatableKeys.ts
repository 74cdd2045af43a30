import type { NoticeStage } from "../rotation/decideRotation";
import { manualActionOf } from "../rotation/activities/listDueKeys";
import type { RotationView } from "./rotationView";

/** A key the lifecycle will not rotate and that needs a person now. */
export interface UnrotatableKey {
  instance: string;
  key: string;
  reason: "excluded" | "versionLimit";
  /** The notice stage reached ("P7D", "expired"); absent for a key at the version limit that is due but not yet near expiry. */
  notice?: NoticeStage;
  manualAction: string;
}

/**
 * From the inventory (with skipped keys): excluded keys that reached a notice stage (they will expire with no one
 * rotating them) and keys at Managed HSM's version limit (due, but the service refuses another version).
 */
export function unrotatableKeys(rotation: RotationView): UnrotatableKey[] {
  const out: UnrotatableKey[] = [];
  for (const i of rotation.instances) {
    if (!i.ok) continue;
    for (const entry of i.skippedKeys ?? []) {
      const d = entry.decision;
      if (d.kind !== "skip") continue;
      if (d.reason === "versionLimit" || (d.reason === "excluded" && d.notice !== undefined)) {
        out.push({ instance: i.instance, key: entry.key, reason: d.reason, ...(d.notice === undefined ? {} : { notice: d.notice }), manualAction: manualActionOf(d) });
      }
    }
  }
  return out;
}
