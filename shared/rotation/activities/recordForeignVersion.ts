import type { KeyVaultKey } from "../../hsm/keyClients";
import { configuredInstance, type RotationDeps, type RotationInstance } from "./deps";
import { versionFactsOf } from "./keyFacts";
import { writeKeyVersionRecord } from "./writeKeyVersionRecord";
import { rotationFailure } from "./failure";
import { verifyKeyVersion, type VerifyKeyVersionOutput } from "./verifyKeyVersion";

export interface RecordForeignVersionInput {
  instance: RotationInstance;
  name: string;
  /** The version the `KeyNewVersionCreated` event names. */
  version: string;
}

export interface RecordForeignVersionOutput {
  kind: "recorded";
  name: string;
  version: string;
  keyId: string;
  /** Whether the key still resolves to this version (a later one may exist by now). */
  isCurrent: boolean;
  createdOn?: string;
  expiresOn?: string;
  verification: VerifyKeyVersionOutput;
}

/**
 * A `KeyNewVersionCreated` made by someone else (a person, a pipeline, the service's own auto-rotation):
 * record it and verify that version works. It changes nothing and never rotates: rotating again would create
 * a second version for one event. The orchestration writes the returned facts to the audit record and, when
 * verification failed, publishes KeyRotationFailed so a person looks at it.
 */
export async function recordForeignVersion(input: RecordForeignVersionInput, deps: RotationDeps): Promise<RecordForeignVersionOutput> {
  const { name, version } = input;
  const instance = configuredInstance(input.instance, deps, "recordForeignVersion");
  const client = deps.clients.keys(instance.url);
  let isCurrent: boolean;
  let facts: { id?: string; createdOn?: Date; expiresOn?: Date };
  let named: KeyVaultKey;
  try {
    const current = await client.getKey(name);
    isCurrent = (current.properties.version ?? "").toLowerCase() === version.toLowerCase();
    named = isCurrent ? current : await client.getKey(name, { version });
    facts = { ...named.properties, ...(named.id === undefined ? {} : { id: named.id }) };
  } catch (e) {
    throw rotationFailure(e, instance, "getKey", `${name}/${version}`);
  }
  const verification = await verifyKeyVersion({ instance: input.instance, name, version, key: versionFactsOf(named) }, deps);
  // The foreign version is the key's current one now: recorded, the next rotation exercises it as the previous
  // version without reading the key first.
  if (isCurrent) await writeKeyVersionRecord(instance, name, deps, { current: versionFactsOf(named) });
  const out: RecordForeignVersionOutput = { kind: "recorded", name, version, keyId: facts.id ?? verification.keyId, isCurrent, verification };
  if (facts.createdOn !== undefined) out.createdOn = facts.createdOn.toISOString();
  if (facts.expiresOn !== undefined) out.expiresOn = facts.expiresOn.toISOString();
  deps.log?.(`recorded foreign version ${instance.name}/${name}/${version}: ${verification.kind}`);
  return out;
}
