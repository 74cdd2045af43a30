/**
 * A burst of HSM KeyNearExpiry events through the whole stack (lifecycle topic → Event Grid → the runner's
 * webhook → remediation → rotateKey), against an HSM with the emulator's capacity model: every event is
 * queued, none dropped, each key rotates exactly once, and the HSM is never asked for more creates per
 * second than HSM_CREATE_RATE (its audit log). Build first (`npx tsc -p tsconfig.json`).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack, type LocalStack } from "../../dev/localStack";
import { awaitRotations, burstPolicyText, capacityArgs, createTimes, publishNearExpiry, seedDueKeys } from "../../dev/rotationBurst";

const RATE = 10;
let stack: LocalStack;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "rotation-burst-"));
  writeFileSync(join(dir, "rotation-policy.json"), burstPolicyText);
  stack = await startLocalStack({
    stateDir: dir,
    azuriteInMemory: true,
    // The modelled HSM could create 40 keys a second (1 partition, 40× real time); the app is told 10.
    emulatorArgs: capacityArgs({ partitions: 1, timeScale: 4 * RATE }),
    settingsOverrides: { HSM_CREATE_RATE: String(RATE) },
    runner: { clock: "real", port: 0, scheduleTimers: false, startupTimers: false },
  });
}, 120_000);

afterAll(async () => {
  await stack?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe("a burst of key events", () => {
  it("30 keys, each event delivered twice at once: 30 rotations, each exactly once, creates at the configured pace", async () => {
    const keys = await seedDueKeys(stack, 30);
    const since = (await stack.control("primary", "GET", "/_emulator/clock")).body.now as string;
    await publishNearExpiry(stack, keys, { times: 2, concurrency: 30 });
    const out = await awaitRotations(stack, keys, 240_000);
    expect(out.failures).toEqual([]);
    expect(out).toMatchObject({ rotated: 30, rotatedTwice: 0, failed: 0 });
    const creates = await createTimes(stack, since);
    expect(creates).toHaveLength(30);
    // Each create is sent at its slot or later, and slots are 1/RATE apart from the burst's start on: so the
    // k-th create the HSM finished came no earlier than k/RATE seconds after the events went out. (The modelled
    // HSM could create four times faster; only the app's pacing holds them to this.)
    const start = Date.parse(since);
    creates.forEach((t, k) => expect(t - start, `create #${k}`).toBeGreaterThanOrEqual((k * 1000) / RATE - 5));
    // Nothing was refused for want of capacity: pacing kept the HSM's queue short.
    const refused = await stack.control("primary", "GET", `/_emulator/audit?operationName=KeyRotate&since=${encodeURIComponent(since)}`);
    expect((refused.body.value as { resultSignature: string }[]).filter((r) => r.resultSignature === "429")).toEqual([]);
  }, 300_000);
});
