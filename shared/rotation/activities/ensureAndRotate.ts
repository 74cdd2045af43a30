import type { RotationDeps } from "./deps";
import { ensureRotationPolicy, type EnsureRotationPolicyOutput } from "./ensurePolicy";
import { rotateKeyVersion, type RotateKeyVersionInput, type RotateKeyVersionOutput } from "./rotateKeyVersion";

export type EnsurePolicyAndRotateOutput = RotateKeyVersionOutput & { policy: EnsureRotationPolicyOutput["kind"] };

/**
 * `ensureRotationPolicy` then `rotateKeyVersion` in one activity: the same HSM requests as the two steps
 * apart, but one durable round trip (episode, history events, activity slot) fewer per rotated key. Both
 * steps are idempotent, so a retry or a re-run after a crash repeats neither: the policy read finds it set,
 * and the rotate finds the key already moved on (`alreadyRotated`).
 */
export async function ensurePolicyAndRotate(input: RotateKeyVersionInput, deps: RotationDeps): Promise<EnsurePolicyAndRotateOutput> {
  const ensure: Parameters<typeof ensureRotationPolicy>[0] = { instance: input.instance, name: input.name };
  if (input.newVersionExpiry !== undefined) ensure.newVersionExpiry = input.newVersionExpiry;
  const policy = await ensureRotationPolicy(ensure, deps);
  const rotated = await rotateKeyVersion(input, deps);
  return { ...rotated, policy: policy.kind };
}
