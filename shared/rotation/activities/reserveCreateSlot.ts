import { configuredInstance, type RotationDeps, type RotationInstance } from "./deps";

export interface ReserveCreateSlotInput {
  /** The instance by configured name (never a URL): its slots are kept per name. */
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
 *
 * The input names a configured rotation instance; a URL or an unknown name is refused like every rotation
 * activity's, so no input can claim (and delay) slots under names the app does not act on.
 */
export async function reserveCreateSlot(input: ReserveCreateSlotInput, deps: RotationDeps): Promise<ReserveCreateSlotOutput> {
  const instance = configuredInstance(input.instance, deps, "reserveCreateSlot");
  const slotAt = await deps.createPacer?.claim({ name: instance.name, kind: instance.kind });
  return { slotAt: slotAt === undefined ? null : new Date(slotAt).toISOString() };
}
