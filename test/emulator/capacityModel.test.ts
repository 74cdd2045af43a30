// The opt-in Managed HSM capacity model: creates are paced at the scaling guidance's 1/s per partition (scaled),
// a burst past the queue limit gets 429 Throttled + Retry-After, and the Azure SDK's retry policy rides it out.
// Timing assertions are lower bounds only (a loaded machine is only ever slower).
import { afterEach, describe, expect, it } from "vitest";
import { parseCli, UsageError } from "../../emulator/options";
import { operationCapacity } from "../../emulator/capacity/scalingGuidance";
import { startTestEmulator, type TestEmulator } from "../support/emulator";

let emu: TestEmulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

describe("capacity flags", () => {
  it("is off unless --capacity is given, and takes partitions, time scale and queue limit", () => {
    expect(parseCli(["--hsm", "primary=0"]).options.capacity).toBeUndefined();
    expect(parseCli(["--hsm", "primary=0", "--capacity"]).options.capacity).toEqual({ partitions: 1, timeScale: 1, queueLimit: 50 });
    expect(parseCli(["--capacity", "--partitions", "2", "--time-scale=5", "--queue-limit", "0"]).options.capacity).toEqual({ partitions: 2, timeScale: 5, queueLimit: 0 });
  });

  it("rejects settings without --capacity and out-of-range values with a clear message", () => {
    expect(() => parseCli(["--partitions", "2"])).toThrow(UsageError);
    expect(() => parseCli(["--partitions", "2"])).toThrow(/add --capacity/);
    expect(() => parseCli(["--capacity", "--partitions", "4"])).toThrow(/partitions must be 1, 2 or 3/);
    expect(() => parseCli(["--capacity", "--time-scale", "0"])).toThrow(/time scale must be a number above 0/);
    expect(() => parseCli(["--capacity", "--queue-limit", "-1"])).toThrow(/queue limit must be a whole number/);
    expect(() => parseCli(["--capacity", "--time-scale", "fast"])).toThrow(/--time-scale needs a number/);
  });

  it("uses the scaling guidance's per-partition rates", () => {
    const rsa2048 = () => ({ base: "RSA", size: 2048 });
    expect(operationCapacity("KeyCreate", rsa2048)).toEqual({ name: "create", perSecond: 1 });
    expect(operationCapacity("KeyRotate", rsa2048)).toEqual({ name: "create", perSecond: 1 });
    expect(operationCapacity("KeyGet", rsa2048)).toEqual({ name: "get", perSecond: 1100 });
    expect(operationCapacity("KeySign", rsa2048)).toEqual({ name: "sign:RSA-2048", perSecond: 900 });
    expect(operationCapacity("KeyUnwrap", rsa2048)).toEqual({ name: "unwrap:RSA-2048", perSecond: 1100 });
    expect(operationCapacity("KeySign", () => ({ base: "EC", curve: "P-256" }))).toEqual({ name: "sign:EC-P-256", perSecond: 330 });
    expect(operationCapacity("KeyUnwrap", () => ({ base: "oct", size: 256 }))).toEqual({ name: "unwrap:AES-256", perSecond: 2200 });
    expect(operationCapacity("RoleAssignmentCreate", rsa2048)).toBeUndefined();
  });
});

describe("capacity model", () => {
  it("paces creates at 1/s per partition: N creates take at least floor((N-1)/partitions) intervals", async () => {
    const partitions = 2;
    const timeScale = 10; // one create per 100 ms per partition
    emu = await startTestEmulator({ hsms: ["primary"], capacity: { partitions, timeScale, queueLimit: 50 } });
    const client = emu.keyClient("primary");
    await client.getKey("warm-up").catch(() => undefined); // the auth challenge, outside the measurement
    const n = 9;
    const t0 = performance.now();
    const keys = await Promise.all(Array.from({ length: n }, (_, i) => client.createEcKey(`paced-${i}`)));
    const elapsed = performance.now() - t0;
    expect(keys.map((k) => k.name).sort()).toEqual(Array.from({ length: n }, (_, i) => `paced-${i}`).sort());
    const intervalMs = 1000 / (1 * timeScale);
    expect(elapsed).toBeGreaterThanOrEqual(Math.floor((n - 1) / partitions) * intervalMs - 5);
    expect(emu.emulator.instances["primary"]!.instance.capacity?.throttled).toBe(0);
  });

  it("answers a burst past the queue limit with 429 Throttled and Retry-After, the service's error shape", async () => {
    // One create per 10 s and no queue: of a burst, one runs and the rest are refused at once.
    emu = await startTestEmulator({ hsms: ["primary"], capacity: { partitions: 1, timeScale: 0.1, queueLimit: 0 } });
    const replies = await Promise.all(Array.from({ length: 4 }, (_, i) => emu!.request("primary", "POST", `/keys/burst-${i}/create?api-version=2025-07-01`, { body: { kty: "EC-HSM", crv: "P-256" } })));
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 429, 429, 429]);
    for (const r of replies.filter((x) => x.status === 429)) {
      expect(r.headers["retry-after"]).toBe("10");
      expect(r.body.error.code).toBe("Throttled");
      expect(r.body.error.message).toMatch(/^Request was not processed because too many requests were received\. Reason: .*create: 1\/s per partition/);
    }
    // Other operation classes have their own capacity: reads still answer at once.
    expect((await emu.request("primary", "GET", "/keys?api-version=2025-07-01")).status).toBe(200);
    // Refused requests changed nothing.
    expect(emu.emulator.instances["primary"]!.instance.keys.list()).toHaveLength(1);
  });

  it("is retried by the Azure SDK's default policy until every create succeeds", async () => {
    emu = await startTestEmulator({ hsms: ["primary"], capacity: { partitions: 1, timeScale: 1, queueLimit: 0 } });
    const client = emu.keyClient("primary", undefined, { retryOptions: { maxRetries: 3 } });
    await client.getKey("warm-up").catch(() => undefined);
    const t0 = performance.now();
    const keys = await Promise.all(Array.from({ length: 3 }, (_, i) => client.createEcKey(`retried-${i}`)));
    const elapsed = performance.now() - t0;
    expect(keys).toHaveLength(3);
    expect(emu.emulator.instances["primary"]!.instance.capacity!.throttled).toBeGreaterThanOrEqual(2);
    expect(elapsed).toBeGreaterThanOrEqual(2000 - 5); // three creates at 1/s: the last starts 2 s after the first
  });
});
