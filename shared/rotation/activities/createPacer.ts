import { LifecycleError } from "../../errors/lifecycleError";
import type { RotationInstance } from "./deps";

/**
 * Hands out key-creation slots per instance at its configured rate. `reserve` resolves when this caller's
 * slot has come (it waits out the time until then) and returns how long it waited.
 */
export interface CreatePacer {
  reserve(instance: RotationInstance): Promise<number>;
  /**
   * Claims the next slot without waiting for it: its instant (epoch ms), or undefined when the instance is not
   * paced. The rotateKey orchestration waits for it with a durable timer, so no activity sits idle meanwhile.
   */
  claim(instance: RotationInstance): Promise<number | undefined>;
}

/**
 * Where the next free slot of each instance is kept. The blob store (`blobSlotStore`) is shared by every
 * worker of the Function app; the memory store (`memorySlotStore`) by the callers of one process only.
 */
export interface SlotStore {
  /** The next free slot (epoch ms; 0 when none is stored) and the tag a conditional write must match. */
  read(instance: string): Promise<{ nextAt: number; tag?: string }>;
  /**
   * Stores `nextAt` only if the stored tag is still `tag` (undefined: only if nothing is stored). false: someone
   * else wrote first; else the tag the stored value has now (for the next conditional write without a read).
   */
  write(instance: string, nextAt: number, tag: string | undefined): Promise<false | { tag?: string }>;
}

export interface CreatePacerOptions {
  /** Creations per second for an instance; 0 or less = not paced. */
  rateFor: (instance: RotationInstance) => number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Called with each slot handed out (tests and benches count them). */
  onSlot?: (instance: string, slotAt: number) => void;
}

/** Conditional-write attempts before giving up: each lost race means another caller got a slot, so this is ample. */
const MAX_ATTEMPTS = 200;

/**
 * Capacity-aware pacing of key creations: a slot is the instant a caller may send its create; slots of one
 * instance are at least `1000 / rate` ms apart, whoever asks (sweep, event, CLI) and on whichever worker,
 * because each slot is claimed with a conditional write on the shared store (compare-and-swap on the tag).
 * An idle instance hands out its next slot at once (no saved-up burst), so one event waits for nothing.
 *
 * Reservations of one instance are serialised in this process (fewer lost races); the waits are not, so a
 * burst keeps several rotations in flight, each sending its create at its own slot.
 */
export function createPacer(store: SlotStore, options: CreatePacerOptions): CreatePacer {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const tails = new Map<string, Promise<unknown>>();
  // What this process last wrote per instance, with its tag: while no other worker writes in between, the
  // next claim is one conditional write and no read (a write that finds the tag changed falls back to reading).
  const lastWritten = new Map<string, { nextAt: number; tag: string }>();

  async function claim(instance: string, intervalMs: number): Promise<number> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const stored = lastWritten.get(instance) ?? (await store.read(instance));
      lastWritten.delete(instance);
      const slotAt = Math.max(now(), stored.nextAt);
      const written = await store.write(instance, slotAt + intervalMs, stored.tag);
      if (written === false) continue;
      if (written.tag !== undefined) lastWritten.set(instance, { nextAt: slotAt + intervalMs, tag: written.tag });
      return slotAt;
    }
    throw new LifecycleError("Throttled", `no key-creation slot for ${instance} after ${MAX_ATTEMPTS} tries: too many workers compete for it. Fix: nothing; the durable retry asks again.`);
  }

  async function claimSerialised(instance: RotationInstance): Promise<number | undefined> {
    const rate = options.rateFor(instance);
    if (!(rate > 0)) return undefined;
    const intervalMs = 1000 / rate;
    const previous = tails.get(instance.name) ?? Promise.resolve();
    const mine = previous.catch(() => undefined).then(() => claim(instance.name, intervalMs));
    tails.set(instance.name, mine);
    try {
      const slotAt = await mine;
      options.onSlot?.(instance.name, slotAt);
      return slotAt;
    } finally {
      if (tails.get(instance.name) === mine) tails.delete(instance.name);
    }
  }

  return {
    claim: claimSerialised,
    async reserve(instance) {
      const slotAt = await claimSerialised(instance);
      if (slotAt === undefined) return 0;
      const wait = slotAt - now();
      if (wait > 0) await sleep(wait);
      return Math.max(0, wait);
    },
  };
}
