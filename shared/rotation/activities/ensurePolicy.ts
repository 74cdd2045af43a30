import type { KeyRotationLifetimeAction } from "../../hsm/keyClients";
import { formatIsoDuration, parseIsoDuration } from "../isoDuration";
import { configuredInstance, type RotationDeps, type RotationInstance } from "./deps";
import { rotationFailure } from "./failure";

export interface EnsureRotationPolicyInput {
  instance: RotationInstance;
  name: string;
  /** The rule's `newVersionExpiry` (ISO 8601); the service stamps it on every version it creates. */
  newVersionExpiry?: string;
}

export type EnsureRotationPolicyOutput = { kind: "unchanged" | "updated"; expiresIn?: string; lifetimeActions: KeyRotationLifetimeAction[] };

/**
 * Makes the key's service-side rotation policy match the configuration: `expiryTime` = the rule's
 * `newVersionExpiry`, and no service `Rotate` action (this app rotates on demand; a service auto-rotation
 * as well would rotate twice and skip verification). A `Notify` action is kept: on a vault it is what emits
 * KeyNearExpiry. Managed HSM refuses an on-demand rotate until a policy exists, so this runs before rotating.
 * Reads first and writes only on a difference, so a re-run costs one GET.
 */
export async function ensureRotationPolicy(input: EnsureRotationPolicyInput, deps: RotationDeps): Promise<EnsureRotationPolicyOutput> {
  const { name } = input;
  const instance = configuredInstance(input.instance, deps, "ensureRotationPolicy");
  const client = deps.clients.keys(instance.url);
  const wanted = input.newVersionExpiry === undefined ? undefined : canonical(input.newVersionExpiry);
  let current: { createdOn?: Date; expiresIn?: string; lifetimeActions?: KeyRotationLifetimeAction[] } | undefined;
  try {
    current = await client.getKeyRotationPolicy(name);
  } catch (e) {
    // Managed HSM answers 404 for a key that has never had a policy; that is the case this step fixes.
    if (!isPolicyNotFound(e)) throw rotationFailure(e, instance, "getKeyRotationPolicy", name);
    current = undefined;
  }
  const actions = current?.lifetimeActions ?? [];
  const keep = actions.filter((a) => a.action !== "Rotate");
  // A key that never had a policy set reads as one without `created` (a vault shows its default Notify).
  const hasPolicy = current?.createdOn !== undefined;
  const sameExpiry = (current?.expiresIn === undefined ? undefined : canonical(current.expiresIn)) === wanted;
  if (hasPolicy && sameExpiry && keep.length === actions.length) {
    const out: EnsureRotationPolicyOutput = { kind: "unchanged", lifetimeActions: actions };
    if (current?.expiresIn !== undefined) out.expiresIn = current.expiresIn;
    return out;
  }
  try {
    const policy: { expiresIn?: string; lifetimeActions: KeyRotationLifetimeAction[] } = { lifetimeActions: keep };
    if (input.newVersionExpiry !== undefined) policy.expiresIn = input.newVersionExpiry;
    const updated = await client.updateKeyRotationPolicy(name, policy);
    deps.log?.(`rotation policy of ${instance.name}/${name} set: expiryTime ${input.newVersionExpiry ?? "none"}, no service auto-rotation`);
    const out: EnsureRotationPolicyOutput = { kind: "updated", lifetimeActions: updated.lifetimeActions ?? [] };
    if (updated.expiresIn !== undefined) out.expiresIn = updated.expiresIn;
    return out;
  } catch (e) {
    throw rotationFailure(e, instance, "updateKeyRotationPolicy", name);
  }
}

function canonical(duration: string): string {
  try {
    return formatIsoDuration(parseIsoDuration(duration));
  } catch {
    return duration.toUpperCase();
  }
}

function isPolicyNotFound(e: unknown): boolean {
  const err = e as { statusCode?: number; code?: string };
  return err.statusCode === 404 && err.code !== "KeyNotFound";
}
