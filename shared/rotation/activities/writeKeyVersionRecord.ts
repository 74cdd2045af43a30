import type { ConfiguredRotationInstance, RotationDeps } from "./deps";
import type { KeyVersionRecord } from "./keyVersionRecords";

/**
 * Writes the key's version record, best effort: a record not written costs the next rotation a GET, no more, so
 * a storage failure is logged and never fails the step that wrote it.
 */
export async function writeKeyVersionRecord(instance: Pick<ConfiguredRotationInstance, "name">, name: string, deps: Pick<RotationDeps, "versionRecords" | "log">, record: KeyVersionRecord): Promise<void> {
  if (deps.versionRecords === undefined) return;
  try {
    await deps.versionRecords.write(instance.name, name, record);
  } catch (e) {
    deps.log?.(`${instance.name}/${name}: version record not written (${e instanceof Error ? e.message : String(e)}); the next rotation reads the key first`);
  }
}
