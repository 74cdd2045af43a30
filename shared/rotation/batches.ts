import { MAX_BATCH_SIZE } from "./serviceLimits";

/**
 * Splits work into fan-out batches of at most `size` (1..MAX_BATCH_SIZE), order kept. A sweep starts one
 * batch of sub-orchestrations at a time so no single history grows past a few thousand events.
 */
export function batches<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1 || size > MAX_BATCH_SIZE) {
    throw new RangeError(`batch size ${size} must be a whole number from 1 to ${MAX_BATCH_SIZE}.`);
  }
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
