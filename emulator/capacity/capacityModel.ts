/**
 * The modelled throughput of one Managed HSM (opt-in, `--capacity`): each operation class of the scaling guidance
 * gets, per partition, one slot every 1/(rate × timeScale) seconds. A request takes the partition that can start
 * it soonest and waits for its slot, as on a busy HSM. When `queueLimit` requests of its class are already
 * waiting it is refused at once with 429 `Throttled` and a Retry-After (seconds) that the Azure SDKs honour.
 *
 * The schedule is kept as "next free slot" times (a token bucket of depth one per class and partition), so the
 * cost of admitting a request does not depend on how many are waiting.
 */
import { KeyVaultError } from "../errors";
import type { OperationCapacity } from "./scalingGuidance";

export interface CapacitySettings {
  /** Partitions serving requests, 1..3 (a Managed HSM has three; the guidance plans with one or two). */
  partitions: number;
  /** The modelled HSM runs this many times faster than real time (tests and benches), > 0. */
  timeScale: number;
  /** Requests of one class that may wait at a time (across partitions); more get 429. 0 = never wait. */
  queueLimit: number;
}

export const DEFAULT_CAPACITY: CapacitySettings = { partitions: 1, timeScale: 1, queueLimit: 50 };

interface ClassState {
  /** Per partition: when (performance.now() ms) its next slot is free. */
  nextFree: number[];
  waiting: number;
}

export class CapacityModel {
  private readonly classes = new Map<string, ClassState>();
  /** Requests answered 429 so far (tests, benches). */
  throttled = 0;

  constructor(
    readonly settings: CapacitySettings,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Resolves when the request may run; throws 429 Throttled when its class's queue is full. */
  async admit(operationName: string, capacity: OperationCapacity): Promise<void> {
    const intervalMs = 1000 / (capacity.perSecond * this.settings.timeScale);
    let state = this.classes.get(capacity.name);
    if (state === undefined) {
      state = { nextFree: new Array<number>(this.settings.partitions).fill(0), waiting: 0 };
      this.classes.set(capacity.name, state);
    }
    const now = this.now();
    let partition = 0;
    for (let p = 1; p < state.nextFree.length; p++) if ((state.nextFree[p] as number) < (state.nextFree[partition] as number)) partition = p;
    const start = Math.max(now, state.nextFree[partition] as number);
    const waitMs = start - now;
    if (waitMs > 0 && state.waiting >= this.settings.queueLimit) {
      this.throttled++;
      // Within one interval a queued request of this class starts and frees a place (whole seconds, as the service sends).
      const retryAfterSeconds = Math.max(1, Math.ceil(intervalMs / 1000));
      throw new KeyVaultError(
        429,
        "Throttled",
        `Request was not processed because too many requests were received. Reason: the HSM's capacity for this operation (${capacity.name}: ${capacity.perSecond}/s per partition, ` +
          `${this.settings.partitions} partition${this.settings.partitions === 1 ? "" : "s"}) is in use and ${state.waiting} ${operationName} requests are already waiting. Retry after ${retryAfterSeconds} s.`,
        undefined,
        { "retry-after": String(retryAfterSeconds) },
      );
    }
    state.nextFree[partition] = start + intervalMs;
    if (waitMs <= 0) return;
    state.waiting++;
    try {
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    } finally {
      state.waiting--;
    }
  }
}
