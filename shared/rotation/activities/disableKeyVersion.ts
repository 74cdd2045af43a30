import { LifecycleError } from "../../errors/lifecycleError";
import { configuredInstance, type RotationDeps, type RotationInstance } from "./deps";
import { rotationFailure } from "./failure";

export interface DisableKeyVersionInput {
  instance: RotationInstance;
  name: string;
  version: string;
}

export type DisableKeyVersionOutput =
  | { kind: "disabled"; version: string }
  | { kind: "alreadyDisabled"; version: string }
  /** The version is (again) the key's current one: disabling it would break every consumer, so it is left alone. */
  | { kind: "refusedCurrent"; version: string };

/**
 * Disables one old version (`updateKeyProperties enabled=false`). Never purges or deletes: a disabled version
 * can be re-enabled if a forgotten consumer turns up. Re-reads the key first and refuses to disable the
 * version the key currently resolves to, whatever the caller's plan said (a plan can be stale). Idempotent.
 */
export async function disableKeyVersion(input: DisableKeyVersionInput, deps: RotationDeps): Promise<DisableKeyVersionOutput> {
  const { name, version } = input;
  const instance = configuredInstance(input.instance, deps, "disableKeyVersion");
  if (version.trim() === "") {
    throw new LifecycleError("BadParameter", `disableKeyVersion for ${instance.name}/${name} got no version. Fix: pass an exact old version from listKeyVersions.`);
  }
  const client = deps.clients.keys(instance.url);
  try {
    const current = await client.getKey(name);
    if ((current.properties.version ?? "").toLowerCase() === version.toLowerCase()) {
      deps.log?.(`retire ${instance.name}/${name}/${version}: refused, it is the current version`);
      return { kind: "refusedCurrent", version };
    }
    const target = await client.getKey(name, { version });
    if (target.properties.enabled === false) return { kind: "alreadyDisabled", version };
    await client.updateKeyProperties(name, version, { enabled: false });
    deps.log?.(`retired ${instance.name}/${name}/${version}: disabled (not purged)`);
    return { kind: "disabled", version };
  } catch (e) {
    throw rotationFailure(e, instance, "updateKeyProperties (disable old version)", `${name}/${version}`);
  }
}
