import { describe, expect, it } from "vitest";
import { LifecycleError } from "../../shared/errors/lifecycleError";
import { parseActivityFailure } from "../../shared/errors/parseActivityFailure";
import { isPermanentFailure, permanentFailureOf, returningPermanentFailures, throwPermanentFailure } from "../../shared/errors/permanentFailure";

describe("permanent activity failures travel as values", () => {
  it("wraps only LifecycleErrors whose code no retry can cure", () => {
    expect(permanentFailureOf(new LifecycleError("MissingRole", "needs Managed HSM Crypto User. Fix: assign it."))).toEqual({
      permanentFailure: { code: "MissingRole", message: "[MissingRole] needs Managed HSM Crypto User. Fix: assign it." },
    });
    expect(permanentFailureOf(new LifecycleError("Throttled", "429"))).toBeUndefined();
    expect(permanentFailureOf(new LifecycleError("Unexpected", "bug"))).toBeUndefined();
    expect(permanentFailureOf(new Error("[MissingRole] text only"))).toBeUndefined();
  });

  it("recognises the envelope strictly: a result that merely has the property is not one", () => {
    expect(isPermanentFailure({ permanentFailure: { code: "Conflict", message: "[Conflict] x" } })).toBe(true);
    expect(isPermanentFailure({ permanentFailure: { code: "NoSuchCode", message: "x" } })).toBe(false);
    expect(isPermanentFailure({ permanentFailure: "yes" })).toBe(false);
    expect(isPermanentFailure({ jobId: "1" })).toBe(false);
    expect(isPermanentFailure(null)).toBe(false);
  });

  it("the activity wrapper returns permanent failures, reports them, and still throws everything else", async () => {
    const reported: string[] = [];
    const report = (f: { code: string }): void => void reported.push(f.code);
    const denied = returningPermanentFailures(async () => {
      throw new LifecycleError("MissingRole", "no role. Fix: assign it.");
    }, report);
    expect(await denied()).toMatchObject({ permanentFailure: { code: "MissingRole" } });
    const busy = returningPermanentFailures(async () => {
      throw new LifecycleError("ServiceUnavailable", "503");
    }, report);
    await expect(busy()).rejects.toThrow("[ServiceUnavailable] 503");
    const fine = returningPermanentFailures(async (n: number) => n * 2, report);
    expect(await fine(21)).toBe(42);
    expect(reported).toEqual(["MissingRole"]);
  });

  it("the orchestration side throws the same LifecycleError, which parseActivityFailure reads as before", () => {
    const original = new LifecycleError("MissingRole", "needs Managed HSM Crypto User on /keys/pay. Fix: assign it.");
    let thrown: unknown;
    try {
      throwPermanentFailure(permanentFailureOf(original));
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(LifecycleError);
    expect((thrown as Error).message).toBe(original.message);
    expect(parseActivityFailure(thrown)).toEqual({ code: "MissingRole", retryable: false, detail: "needs Managed HSM Crypto User on /keys/pay. Fix: assign it." });
    expect(throwPermanentFailure<{ jobId: string }>({ jobId: "j1" })).toEqual({ jobId: "j1" });
  });
});
