import { configuredInstance, type RotationDeps, type RotationInstance } from "./deps";
import { rotationFailure } from "./failure";

export interface SetVersionExpiryInput {
  instance: RotationInstance;
  name: string;
  version: string;
  /** ISO instant. */
  expiresOn: string;
}

export type SetVersionExpiryOutput = { kind: "set" | "unchanged"; version: string; expiresOn: string };

/** Sets one version's expiry. Idempotent: reads first and writes only when it differs by a second or more. */
export async function setVersionExpiry(input: SetVersionExpiryInput, deps: RotationDeps): Promise<SetVersionExpiryOutput> {
  const { name, version } = input;
  const instance = configuredInstance(input.instance, deps, "setVersionExpiry");
  const wanted = new Date(input.expiresOn);
  if (Number.isNaN(wanted.getTime())) throw new RangeError(`setVersionExpiry: expiresOn "${input.expiresOn}" is not an ISO 8601 instant.`);
  const client = deps.clients.keys(instance.url);
  try {
    const key = await client.getKey(name, { version });
    const has = key.properties.expiresOn?.getTime();
    if (has !== undefined && Math.abs(has - wanted.getTime()) < 1000) return { kind: "unchanged", version, expiresOn: wanted.toISOString() };
    await client.updateKeyProperties(name, version, { expiresOn: wanted });
    return { kind: "set", version, expiresOn: wanted.toISOString() };
  } catch (e) {
    throw rotationFailure(e, instance, "updateKeyProperties (set expiry)", `${name}/${version}`);
  }
}
