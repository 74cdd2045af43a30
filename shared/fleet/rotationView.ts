import { rotationInstances } from "../config/settings";
import { listDueKeys, type ListDueKeysOutput } from "../rotation/activities/listDueKeys";
import { loadRotationConfig } from "../rotation/activities/loadConfig";
import type { RotationPolicy } from "../rotation/policyTypes";
import type { RotationInstance } from "../rotation/activities/deps";
import type { FleetContext } from "./fleetContext";
import { errorText } from "../errors/errorText";

export type InstanceRotationView =
  | ({ ok: true; kind: RotationInstance["kind"] } & ListDueKeysOutput)
  | { ok: false; instance: string; kind: RotationInstance["kind"]; error: string };

export interface RotationView {
  at: string;
  policy?: RotationPolicy;
  /** Set when the policy file could not be read or is invalid: nothing can be decided. */
  policyError?: string;
  instances: InstanceRotationView[];
}

/**
 * The rotation inventory as the sweep sees it: the same config loader (policy validated against the
 * configured instances), the same `listDueKeys` (list pages only, as the rotation identity) and the same
 * decision instant for every instance (the caller checks that a `filter.instance` is configured). Read-only.
 * One instance failing (a missing role, unreachable) is a value, so the others still show.
 */
export async function rotationView(ctx: FleetContext, filter: { instance?: string } = {}): Promise<RotationView> {
  const at = ctx.now.toISOString();
  const all = rotationInstances(ctx.settings);
  let policy: RotationPolicy;
  try {
    policy = (await loadRotationConfig(ctx.settings, ctx.baseDir)).policy;
  } catch (e) {
    return { at, policyError: errorText(e), instances: [] };
  }
  const chosen = all.filter((i) => filter.instance === undefined || i.name === filter.instance);
  const instances = await Promise.all(
    chosen.map(async (i): Promise<InstanceRotationView> => {
      const instance: RotationInstance = { name: i.name, kind: i.kind };
      try {
        const out = await listDueKeys({ instance, policy, now: at, includeSkipped: true }, { clients: ctx.keyClients("rotation"), instances: all });
        return { ok: true, kind: i.kind, ...out };
      } catch (e) {
        return { ok: false, instance: i.name, kind: i.kind, error: errorText(e) };
      }
    }),
  );
  return { at, policy, instances };
}
