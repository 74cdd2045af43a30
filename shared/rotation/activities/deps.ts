import type { LifecyclePublisher } from "../../events/lifecyclePublisher";
import type { KeyClients } from "../../hsm/keyClients";
import type { CreatePacer } from "./createPacer";

/** An HSM or vault the rotation acts on; structurally the settings' `InstanceSetting` (JSON-safe activity input). */
export interface RotationInstance {
  name: string;
  kind: "managedHsm" | "vault";
  /** Origin, `https://host[:port]`. */
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
