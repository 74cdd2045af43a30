/**
 * Shiftable clock of one instance. "now" = wall clock + offset; the offset only moves forward and is
 * persisted, so nbf/exp checks, deleted-key purge dates and rotation policies see emulator time.
 * Token expiry is checked against the wall clock (tokens are minted in real time).
 */
export class Clock {
  constructor(private offset = 0) {}

  get offsetMs(): number {
    return this.offset;
  }

  nowMs(): number {
    return Date.now() + this.offset;
  }

  now(): Date {
    return new Date(this.nowMs());
  }

  nowSeconds(): number {
    return Math.floor(this.nowMs() / 1000);
  }

  /** Moves time forward; returns the new offset. */
  shift(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0) throw new Error("Clock shift must be a finite, non-negative number of milliseconds (time never goes back).");
    this.offset += ms;
    return this.offset;
  }

  reset(): void {
    this.offset = 0;
  }
}
