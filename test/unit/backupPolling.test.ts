import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { nextBackupPoll, type PolledJobStatus } from "../../shared/backup/nextBackupPoll";

const start = new Date("2026-11-23T02:00:00.000Z");
const after = (ms: number): Date => new Date(start.getTime() + ms);
const running: PolledJobStatus = { status: "InProgress", startTime: start.toISOString() };
const opts = (elapsedMs: number) => ({ now: after(elapsedMs), watchStartedAt: start, timeoutMs: 2 * 3_600_000, intervalMs: 2000 });

describe("nextBackupPoll", () => {
  it("waits the interval early on, then 10% of the elapsed time, capped at the maximum", () => {
    expect(nextBackupPoll(running, opts(0))).toEqual({ kind: "wait", delayMs: 2000, fireAt: after(2000).toISOString() });
    expect(nextBackupPoll(running, opts(60_000))).toMatchObject({ kind: "wait", delayMs: 6000 });
    expect(nextBackupPoll(running, opts(3_600_000))).toMatchObject({ kind: "wait", delayMs: 60_000 });
  });

  it("follows the service's Retry-After and never waits past the timeout", () => {
    expect(nextBackupPoll({ ...running, retryAfterSeconds: 10 }, opts(0))).toMatchObject({ kind: "wait", delayMs: 10_000 });
    expect(nextBackupPoll(running, opts(2 * 3_600_000 - 5_000))).toMatchObject({ kind: "wait", delayMs: 5_000 });
  });

  it("times out with a clear failure once the timeout has passed", () => {
    const decision = nextBackupPoll(running, opts(2 * 3_600_000));
    expect(decision).toMatchObject({ kind: "timedOut", error: { code: "JobTimedOut", message: expect.stringMatching(/^\[JobTimedOut\] .*120 minutes.*Fix: .*ADMIN_JOB_TIMEOUT/) } });
  });

  it("finishes on success and passes a failure's classified error through", () => {
    const done: PolledJobStatus = { status: "Succeeded", startTime: start.toISOString(), endTime: after(90_000).toISOString(), folderUri: "https://a/c/mhsm-x-1" };
    expect(nextBackupPoll(done, opts(90_000))).toEqual({ kind: "succeeded", folderUri: "https://a/c/mhsm-x-1", startTime: done.startTime, endTime: done.endTime });
    const error = { code: "ContainerNotFound" as const, message: "[ContainerNotFound] x" };
    expect(nextBackupPoll({ status: "Failed", startTime: start.toISOString(), error }, opts(1000))).toEqual({ kind: "failed", error });
    expect(nextBackupPoll({ status: "Canceled", startTime: start.toISOString() }, opts(1000))).toMatchObject({ kind: "failed", error: { code: "JobFailed" } });
    expect(nextBackupPoll({ status: "Succeeded", startTime: start.toISOString() }, opts(1000))).toMatchObject({ kind: "failed", error: { code: "JobFailed" } });
  });
});

describe("backup logic an orchestration may import", () => {
  const root = join(__dirname, "..", "..");
  it.each(["planRetention.ts", "nextBackupPoll.ts", "classifyJobFailure.ts", "compareBlobInventory.ts", "manifestMetadata.ts", "canonicalJson.ts", "runningJobFromConflict.ts"])(
    "shared/backup/%s imports no SDK, node:*, settings and never reads the clock or randomness",
    (file) => {
      const src = readFileSync(join(root, "shared/backup", file), "utf8");
      for (const m of src.matchAll(/^(?:import|export)\b[^;]*?from\s+"([^"]+)";/gms)) {
        expect(m[1], `${file} imports ${m[1]}`).toMatch(/^\.\.?\//);
        expect(m[1]).not.toMatch(/config|settings|storage|hsm\//);
        if (!/^import type /.test(m[0])) expect(m[1]).not.toMatch(/backupManifest/);
      }
      expect(src).not.toMatch(/Date\.now\(|Math\.random\(|new Date\(\)|process\.env|require\(/);
    },
  );
});
