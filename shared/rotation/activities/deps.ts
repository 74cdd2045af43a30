import { resolveConfiguredInstance, type InstanceRef } from "../../instances/resolveConfiguredInstance";
import type { LifecyclePublisher } from "../../events/lifecyclePublisher";
import type { KeyClients } from "../../hsm/keyClients";
import type { CreatePacer } from "./createPacer";
import type { KeyVersionRecords } from "./keyVersionRecords";

/**
 * How rotation inputs name an HSM or vault: its configured name and kind, never its URL (whoever starts an
 * orchestration chooses its input; the URL an activity sends its token to comes from the settings only).
 */
export type RotationInstance = InstanceRef;

/** A configured HSM or vault as the activities act on it: the settings' name, kind and origin URL. */
export interface ConfiguredRotationInstance extends InstanceRef {
  /** Origin, `https://host[:port]`, from HSMS / VAULTS. */
  url: string;
}

/**
 * What the rotation activities need from the outside world, built once per worker and passed in, so tests
 * hand in clients pointed at the emulator. Activities never read settings or `process.env` themselves.
 */
export interface RotationDeps {
  clients: KeyClients;
  /** Paces key creations per instance (`rotateKeyVersion` waits for a slot before each create); absent = not paced. */
  createPacer?: CreatePacer;
  /**
   * Each key's current version as the last rotation saw it (authenticated): lets a rotation skip the GET before
   * the rotate. Absent (no BACKUP_MANIFEST_KEY to authenticate with, or a caller without storage): always GET.
   */
  versionRecords?: KeyVersionRecords;
  /** The instances rotation acts on (primary HSMs and vaults from the settings): the only URLs it calls. */
  instances: readonly ConfiguredRotationInstance[];
  /** Wall clock for decisions when the input carries no `now` (default `() => new Date()`). */
  now?: () => Date;
  /** Publisher for HSM near-expiry notices; without one `publishNotices` returns the events unpublished. */
  publisher?: LifecyclePublisher;
  /** One line per notable action; never key material. */
  log?: (line: string) => void;
}

/** The decision instant: the input's (orchestration time or a plan's `at`) or the deps' clock. */
export function decisionTime(input: { now?: string }, deps: RotationDeps): Date {
  if (input.now !== undefined) {
    const t = new Date(input.now);
    if (Number.isNaN(t.getTime())) throw new RangeError(`"now" must be an ISO 8601 instant; got "${input.now}".`);
    return t;
  }
  return deps.now?.() ?? new Date();
}

/**
 * The configured instance an activity input names: refuses a URL in the input and any name that is not a
 * rotation instance (a drill target included), naming the configured ones. See `resolveConfiguredInstance`.
 */
export function configuredInstance(ref: unknown, deps: Pick<RotationDeps, "instances">, activity: string): ConfiguredRotationInstance {
  return resolveConfiguredInstance(ref, deps.instances, activity);
}
