import { LifecycleError } from "../errors/lifecycleError";

/**
 * Counts single-key reads (`GET /keys/{name}[/{version}]`, operation `KeyGet`) made by one identity, so a drill
 * stays clear of Sentinel's mass-retrieval rule (default: more than 25 single-key GETs per identity per day).
 * Inventory never needs one (list pages carry everything it compares); only crypto probes spend it, because the
 * SDK's CryptographyClient reads the key once before its first operation.
 */
export class SingleKeyGetBudget {
  private spent = 0;

  /** @param limit - how many single-key GETs this activity may still make today */
  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`The single-key GET budget must be a whole number >= 0; got ${limit}.`);
  }

  get used(): number {
    return this.spent;
  }

  get remaining(): number {
    return this.limit - this.spent;
  }

  /** Reserves `n` GETs, or throws before the call is made when they would exceed the budget. */
  take(n: number, what: string): void {
    if (this.spent + n > this.limit) {
      throw new LifecycleError("DrillRefused", `${what} needs ${n} single-key GET${n === 1 ? "" : "s"} but only ${this.remaining} of today's ${this.limit} remain (Sentinel mass-retrieval rule). Fix: probe fewer keys or run the drill tomorrow.`);
    }
    this.spent += n;
  }
}

/** Sentinel's default threshold for the Key Vault mass-retrieval analytic: single-key reads per identity per day. */
export const SENTINEL_DAILY_GET_LIMIT = 25;
