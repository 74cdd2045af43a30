import type { RotationDeps, RotationInstance } from "./deps";

export interface ReserveCreateSlotInput {
  instance: RotationInstance;
}

/** `slotAt`: when this rotation may send its create (ISO); null when the instance is not paced. */
export interface ReserveCreateSlotOutput {
  slotAt: string | null;
}

/**
 * Claims the instance's next key-creation slot (see `createPacer`) and returns at once: the rotateKey
 * orchestration waits for the slot with a durable timer, then rotates. Waiting in the orchestration, not in an
 * activity, keeps activity slots free for the verifications and events of the rotations already under way
 * during a burst, and survives a restart (the timer is durable; the slot is not claimed twice on replay,
 * because the activity's result is in the history).
 */
export async function reserveCreateSlot(input: ReserveCreateSlotInput, deps: RotationDeps): Promise<ReserveCreateSlotOutput> {
  const slotAt = await deps.createPacer?.claim(input.instance);
  return { slotAt: slotAt === undefined ? null : new Date(slotAt).toISOString() };
}
