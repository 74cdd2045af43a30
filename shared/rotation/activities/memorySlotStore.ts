import type { SlotStore } from "./createPacer";

/** A `SlotStore` in this process's memory: paces the callers of one process (the CLI, tests). */
export function memorySlotStore(): SlotStore {
  const slots = new Map<string, { nextAt: number; tag: number }>();
  return {
    async read(instance) {
      const s = slots.get(instance);
      return s === undefined ? { nextAt: 0 } : { nextAt: s.nextAt, tag: String(s.tag) };
    },
    async write(instance, nextAt, tag) {
      const s = slots.get(instance);
      if ((s === undefined ? undefined : String(s.tag)) !== tag) return false;
      const next = (s?.tag ?? 0) + 1;
      slots.set(instance, { nextAt, tag: next });
      return { tag: String(next) };
    },
  };
}
