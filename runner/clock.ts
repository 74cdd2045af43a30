/** Time source for durable timers and OrchestratorStarted timestamps. */
export interface Clock {
  readonly kind: 'real' | 'virtual';
  now(): number;
  /** Calls `fn` once the clock reaches `at` (epoch ms). Returns a cancel function. */
  schedule(at: number, fn: () => void): () => void;
  /** Virtual clock only: jump to the earliest scheduled time; false when nothing is scheduled. */
  advanceToNext(): boolean;
  /** Number of scheduled callbacks not yet fired. */
  pending(): number;
  dispose(): void;
}

const maxTimeout = 2_147_483_647; // setTimeout's ceiling (~24.8 days); longer waits are re-armed.

export function createRealClock(): Clock {
  const handles = new Set<NodeJS.Timeout>();
  return {
    kind: 'real',
    now: () => Date.now(),
    schedule(at, fn) {
      let handle: NodeJS.Timeout;
      let cancelled = false;
      const arm = (): void => {
        const delay = Math.max(0, at - Date.now());
        handle = setTimeout(() => {
          handles.delete(handle);
          if (cancelled) return;
          if (Date.now() < at) arm();
          else fn();
        }, Math.min(delay, maxTimeout));
        handles.add(handle);
      };
      arm();
      return () => {
        cancelled = true;
        clearTimeout(handle);
        handles.delete(handle);
      };
    },
    advanceToNext: () => false,
    pending: () => handles.size,
    dispose() {
      for (const h of handles) clearTimeout(h);
      handles.clear();
    },
  };
}

/**
 * Real time plus an offset that jumps forward to the next durable timer whenever the runner is idle, so
 * a test sees a 7-day timer fire at once while timestamps still move forward naturally.
 */
export function createVirtualClock(start?: number): Clock {
  const realStart = Date.now();
  let offset = (start ?? realStart) - realStart;
  let seq = 0;
  const queue = new Map<number, { at: number; fn: () => void }>();
  const now = (): number => Date.now() + offset;
  return {
    kind: 'virtual',
    now,
    schedule(at, fn) {
      const id = seq++;
      queue.set(id, { at, fn });
      return () => queue.delete(id);
    },
    advanceToNext() {
      let best: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of queue) if (!best || entry[1].at < best[1].at) best = entry;
      if (!best) return false;
      const [id, item] = best;
      queue.delete(id);
      if (item.at > now()) offset += item.at - now();
      item.fn();
      return true;
    },
    pending: () => queue.size,
    dispose() {
      queue.clear();
    },
  };
}
