/**
 * Fault injection for one instance (set through /_emulator/faults): a fraction of data-plane requests
 * is answered 429 + Retry-After, or a 5xx, or delayed. `remaining` bounds how many requests are
 * affected so tests can inject exactly N faults deterministically (fraction 1, remaining N).
 */
export interface FaultConfig {
  throttleFraction?: number;
  retryAfterSeconds?: number;
  errorFraction?: number;
  errorStatus?: number;
  delayFraction?: number;
  delayMs?: number;
  /** Only affect this many more requests (faults of any kind), then switch off. */
  remaining?: number;
}

export type FaultDecision = { kind: "throttle"; retryAfterSeconds: number } | { kind: "error"; status: number } | { kind: "delay"; ms: number } | undefined;

function fraction(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !(v >= 0 && v <= 1)) throw new Error(`${field} must be a number between 0 and 1.`);
  return v;
}

export function parseFaultConfig(body: unknown): FaultConfig {
  const b = (body ?? {}) as Record<string, unknown>;
  const out: FaultConfig = {};
  const tf = fraction(b["throttleFraction"], "throttleFraction");
  const ef = fraction(b["errorFraction"], "errorFraction");
  const df = fraction(b["delayFraction"], "delayFraction");
  if (tf !== undefined) out.throttleFraction = tf;
  if (ef !== undefined) out.errorFraction = ef;
  if (df !== undefined) out.delayFraction = df;
  const int = (k: string, min: number, max: number): number | undefined => {
    const v = b[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) throw new Error(`${k} must be an integer between ${min} and ${max}.`);
    return v;
  };
  const ra = int("retryAfterSeconds", 0, 3600);
  const es = int("errorStatus", 500, 599);
  const dm = int("delayMs", 0, 600_000);
  const rem = int("remaining", 0, 1_000_000_000);
  if (ra !== undefined) out.retryAfterSeconds = ra;
  if (es !== undefined) out.errorStatus = es;
  if (dm !== undefined) out.delayMs = dm;
  if (rem !== undefined) out.remaining = rem;
  return out;
}

export class FaultInjector {
  config: FaultConfig = {};

  decide(random: () => number = Math.random): FaultDecision {
    const c = this.config;
    if (c.remaining !== undefined && c.remaining <= 0) return undefined;
    let decision: FaultDecision;
    if (c.throttleFraction && random() < c.throttleFraction) decision = { kind: "throttle", retryAfterSeconds: c.retryAfterSeconds ?? 1 };
    else if (c.errorFraction && random() < c.errorFraction) decision = { kind: "error", status: c.errorStatus ?? 500 };
    else if (c.delayFraction && c.delayMs && random() < c.delayFraction) decision = { kind: "delay", ms: c.delayMs };
    if (decision !== undefined && c.remaining !== undefined) c.remaining--;
    return decision;
  }
}
