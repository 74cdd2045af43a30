import type { RotationDeps } from "./deps";
import { rotateKeyVersion, type RotateKeyVersionInput, type RotateKeyVersionOutput } from "./rotateKeyVersion";

export type EnsurePolicyAndRotateOutput = RotateKeyVersionOutput;

/**
 * The rotation step of `rotateKey`: the rotate, with the rotation policy read and set only when the rotate's
 * answer shows it differs from the configuration (or Managed HSM refuses the rotate for want of one), see
 * `rotateKeyVersion`. Kept under its own activity name so running orchestrations replay unchanged. Idempotent:
 * a retry or a re-run after a crash finds the key already moved on (`alreadyRotated`).
 */
export async function ensurePolicyAndRotate(input: RotateKeyVersionInput, deps: RotationDeps): Promise<EnsurePolicyAndRotateOutput> {
  return rotateKeyVersion(input, deps);
}
