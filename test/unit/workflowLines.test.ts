import { describe, expect, it } from "vitest";
import { backupLine, drillLine, rotationLine, shortDuration, type RunRecord } from "../../dev/workflowLines";

const run = (over: Partial<RunRecord>): RunRecord => ({ instanceId: "x", name: "n", status: "Completed", createdTime: "2026-12-06T01:00:00Z", input: null, output: null, ...over });
const sweepId = "sweep:2026-12-06:app+primary";
const rotation = (kind: string, checks: string[], status = "Completed"): RunRecord =>
  run({ name: "rotateKey", status, input: { runId: sweepId }, output: status === "Completed" ? { kind, checks } : null });

describe("npm start's workflow lines", () => {
  it("counts a rotation as verified only when its crypto checks ran, and names a failure of the sweep", () => {
    const sweep = run({ instanceId: sweepId, name: "rotationSweep", output: { outcomes: { rotated: 2 }, failures: [], instances: [] } });
    expect(rotationLine(sweep, [rotation("rotated", ["sign"]), rotation("rotated", ["wrap"])])).toMatchObject({ state: "done", text: "rotation: 2 keys rotated, 2 verified" });
    expect(rotationLine(sweep, [rotation("rotated", ["sign"]), rotation("rotated", [])]).state).toBe("failed");
    // Another sweep's rotations are not this one's.
    expect(rotationLine(sweep, [{ ...rotation("rotated", ["sign"]), input: { runId: "sweep:2026-12-05:app+primary" } }]).text).toBe("rotation: no key due (0 keys checked)");
    const failing = run({ instanceId: sweepId, output: { outcomes: { failed: 1 }, failures: [{ instanceId: "rotate:app:k:1", stage: "verify", code: "KeyUnusable", message: "sign failed" }], instances: [] } });
    expect(rotationLine(failing, [rotation("failed", [])])).toMatchObject({ state: "failed", text: "rotation: 0 keys rotated, 0 verified, 1 FAILED (rotate:app:k:1: [KeyUnusable] sign failed)" });
    expect(rotationLine(run({ instanceId: sweepId, status: "Running" }), [rotation("rotated", ["sign"]), rotation("", [], "Running")])).toMatchObject({
      state: "running",
      text: "rotation: sweep running — 1 key rotated, 1 verified, 1 in progress",
    });
    expect(rotationLine(undefined, []).state).toBe("waiting");
  });

  it("shows a backup as verified only from a completed run's verification, and a failed run with its error", () => {
    const done = run({ instanceId: "backup:primary:2026-12-06", output: { kind: "completed", folder: "mhsm-primary-1", verifiedAt: "2026-12-06T01:00:00Z", blobCount: 14 } });
    expect(backupLine(done, true)).toMatchObject({ state: "done", text: "backup: mhsm-primary-1 verified, 14 blobs (ran earlier today)" });
    expect(backupLine(run({ instanceId: "backup:primary:2026-12-06", status: "Failed", output: "[Forbidden] no role" })).text).toBe("backup: backup:primary:2026-12-06 failed: [Forbidden] no role");
    expect(backupLine(run({ instanceId: "backup:primary:2026-12-06", status: "Running", customStatus: { stage: "monitoring", polls: 2 } }))).toMatchObject({
      state: "running",
      text: "backup: backup:primary:2026-12-06 running (stage: monitoring)",
    });
  });

  it("shows the drill verdict with RTO and RPO against their targets, its warnings, and why a failed drill failed", () => {
    const input = { objectives: { rtoMs: 4 * 3_600_000, rpoMs: 26 * 3_600_000 } };
    const passed = run({ input, output: { verdict: "passed", rtoMs: 41_200, rpoMs: 125_000, failures: [], warnings: ["the DR roles could not be re-applied"] } });
    expect(drillLine(passed)).toEqual({ workflow: "drill", state: "done", text: "drill: passed, RTO 41 s / target 4 h, RPO 2 min 5 s / target 1 d 2 h", warnings: ["the DR roles could not be re-applied"] });
    const failed = run({ input, output: { verdict: "failed", stoppedAt: "verify", rtoMs: 5 * 3_600_000, failures: ["RTO 5 h exceeds the target"] } });
    expect(drillLine(failed)).toMatchObject({ state: "failed", text: "drill: FAILED at verify, RTO 5 h / target 4 h — RTO 5 h exceeds the target" });
  });

  it("reads durations as a person would", () => {
    expect([shortDuration(0), shortDuration(400), shortDuration(41_000), shortDuration(3_600_000), shortDuration(93_784_000)]).toEqual(["0 s", "0 s", "41 s", "1 h", "1 d 2 h 3 min 4 s"]);
  });
});
