import type { KeyListing } from "../keyListing";
import { configuredInstance, type RotationDeps, type RotationInstance } from "./deps";
import { rotationFailure } from "./failure";
import { currentOf, toKeyListing } from "./keyFacts";

export interface ListKeyVersionsInput {
  instance: RotationInstance;
  name: string;
}

export interface ListKeyVersionsOutput {
  name: string;
  /** JSON-safe listings (ISO dates), the shape `decideRetirement` takes. */
  versions: KeyListing[];
  /** The most recently created version: what a versionless GET returns. */
  current?: string;
  pages: number;
}

/** Every version of one key from the versions list pages (no per-version GET): for retirement and the 100-version limit. */
export async function listKeyVersions(input: ListKeyVersionsInput, deps: RotationDeps): Promise<ListKeyVersionsOutput> {
  const { name } = input;
  const instance = configuredInstance(input.instance, deps, "listKeyVersions");
  const versions: KeyListing[] = [];
  let pages = 0;
  try {
    for await (const page of deps.clients.keys(instance.url).listPropertiesOfKeyVersions(name).byPage()) {
      pages++;
      for (const p of page) versions.push(toKeyListing(p));
    }
  } catch (e) {
    throw rotationFailure(e, instance, "listPropertiesOfKeyVersions", name);
  }
  const out: ListKeyVersionsOutput = { name, versions, pages };
  const pick = currentOf(versions);
  let current = pick.latest?.version;
  if (pick.ambiguous && versions.length > 0) {
    try {
      current = (await deps.clients.keys(instance.url).getKey(name)).properties.version;
    } catch (e) {
      throw rotationFailure(e, instance, "getKey", name);
    }
  }
  if (current !== undefined) out.current = current;
  return out;
}
