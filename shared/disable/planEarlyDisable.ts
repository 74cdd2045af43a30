import { LifecycleError } from "../errors/lifecycleError";
import { configuredInstance, type ConfiguredRotationInstance, type RotationDeps, type RotationInstance } from "../rotation/activities/deps";
import { rotationFailure } from "../rotation/activities/failure";

export interface EarlyDisableTarget {
  instance: RotationInstance;
  key: string;
  version: string;
}

export interface EarlyDisablePlan {
  instance: ConfiguredRotationInstance;
  /** The key's current version (never the one disabled). */
  current: string;
}

const KEY_NAME = /^[0-9A-Za-z-]{1,127}$/;
const VERSION = /^[0-9A-Za-z]{1,64}$/;

/**
 * Checks, reading only, that `version` of `key` may be disabled early: a configured HSM or vault, a key name, a
 * version that exists, is still enabled and is not the key's current one (disabling that would break every
 * consumer: rotate instead). Refuses with a LifecycleError naming the cause and the fix; the request starter asks
 * before a request is made, and `disableKeyVersion` checks the current version again when it runs.
 */
export async function planEarlyDisable(input: EarlyDisableTarget, deps: Pick<RotationDeps, "clients" | "instances">): Promise<EarlyDisablePlan> {
  const instance = configuredInstance(input.instance, deps, "early disable");
  if (!KEY_NAME.test(input.key)) throw new LifecycleError("BadParameter", `"${input.key.slice(0, 130)}" is not a key name (1-127 letters, digits and hyphens).`);
  if (!VERSION.test(input.version)) throw new LifecycleError("BadParameter", `"${input.version.slice(0, 70)}" is not a key version (letters and digits, as "hsm-lifecycle status" or the key's versions list it).`);
  const client = deps.clients.keys(instance.url);
  const read = async (version?: string) => {
    try {
      return await client.getKey(input.key, version === undefined ? {} : { version });
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode !== 404) throw rotationFailure(e, instance, "read the key version", `${input.key}/${version ?? ""}`);
      if (version === undefined) throw new LifecycleError("KeyNotFound", `${instance.name} has no key "${input.key}". Fix: check the key name.`);
      throw new LifecycleError("NotFound", `${instance.name}/${input.key} has no version "${version}". Fix: pick a version the key lists.`);
    }
  };
  const current = (await read()).properties.version ?? "";
  if (current.toLowerCase() === input.version.toLowerCase()) {
    throw new LifecycleError("Conflict", `${instance.name}/${input.key}/${input.version} is the key's current version; disabling it would break every consumer. Fix: rotate first ("hsm-lifecycle rotate --now"), then disable the old version.`);
  }
  const target = await read(input.version);
  if (target.properties.enabled === false) throw new LifecycleError("Conflict", `${instance.name}/${input.key}/${input.version} is already disabled: nothing to do.`);
  return { instance, current };
}
