/**
 * Retry schedule for webhook delivery. Azure retries for up to 24 h / 30 attempts with exponential backoff;
 * the emulator keeps Azure's shape but defaults to a few short attempts so tests and local runs stay fast.
 */
export interface DeliveryPolicy {
  /** Delivery attempts per event, including the first (Azure: 1-30, default 30). */
  readonly maxAttempts: number;
  /** Delay before the 2nd attempt; doubles per attempt up to maxDelayMs. */
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** Per-request timeout (Azure waits 30 s for a webhook). */
  readonly requestTimeoutMs: number;
  /** Handshake attempts before the subscription is marked Failed (the webhook may start after the emulator). */
  readonly validationAttempts: number;
}

export const DEFAULT_DELIVERY_POLICY: DeliveryPolicy = {
  maxAttempts: 4,
  initialDelayMs: 200,
  maxDelayMs: 5_000,
  requestTimeoutMs: 30_000,
  validationAttempts: 20,
};

export function backoffMs(policy: DeliveryPolicy, failedAttempts: number): number {
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, failedAttempts - 1));
}

/** Merges overrides, rejecting values that would make delivery loop forever or never run. */
export function resolveDeliveryPolicy(overrides: Partial<DeliveryPolicy> = {}): DeliveryPolicy {
  const policy = { ...DEFAULT_DELIVERY_POLICY, ...overrides };
  const checks: [keyof DeliveryPolicy, number, number][] = [
    ["maxAttempts", 1, 30],
    ["initialDelayMs", 0, 3_600_000],
    ["maxDelayMs", 0, 3_600_000],
    ["requestTimeoutMs", 1, 300_000],
    ["validationAttempts", 1, 1_000],
  ];
  for (const [field, min, max] of checks) {
    const value = policy[field];
    if (!Number.isFinite(value) || value < min || value > max) {
      throw new Error(`Delivery policy ${field} must be a number from ${min} to ${max}, not ${String(value)}.`);
    }
  }
  return policy;
}
