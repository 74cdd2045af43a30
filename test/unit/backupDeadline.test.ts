import { describe, expect, it } from "vitest";
import { backupDeadline, isTransientBackupFailure, nextRecoveryAttempt } from "../../shared/backup/backupDeadline";

const t0 = new Date("2026-11-24T02:00:00Z");
const min = 60_000;

describe("the backup deadline", () => {
  it("is anchored at the run's start, or its scheduled time when that is later; none without a setting", () => {
    expect(backupDeadline(t0, undefined, 4 * 60 * min)?.toISOString()).toBe("2026-11-24T06:00:00.000Z");
    expect(backupDeadline(t0, "2026-11-24T03:00:00Z", 60 * min)?.toISOString()).toBe("2026-11-24T04:00:00.000Z");
    expect(backupDeadline(t0, "2026-11-23T03:00:00Z", 60 * min)?.toISOString()).toBe("2026-11-24T03:00:00.000Z");
    expect(backupDeadline(t0, undefined, undefined)).toBeUndefined();
  });

  it("waits 1, 2, 4, 8, then 15 minutes, never past the deadline, and not at all once it has come", () => {
    const deadline = new Date(t0.getTime() + 60 * min);
    const waits = [0, 1, 2, 3, 4, 5].map((n) => (nextRecoveryAttempt(t0, deadline, n)!.getTime() - t0.getTime()) / min);
    expect(waits).toEqual([1, 2, 4, 8, 15, 15]);
    expect(nextRecoveryAttempt(new Date(deadline.getTime() - 5 * min), deadline, 4)?.toISOString()).toBe(deadline.toISOString());
    expect(nextRecoveryAttempt(deadline, deadline, 0)).toBeUndefined();
    expect(nextRecoveryAttempt(t0, undefined, 0)).toBeUndefined();
  });

  it("waits out only what time cures", () => {
    for (const code of ["StorageUnreachable", "ServiceUnavailable", "Throttled", "Unreachable", "JobFailed"] as const) expect(isTransientBackupFailure(code)).toBe(true);
    for (const code of ["MissingRole", "FirewallBlocked", "ContainerNotFound", "BadParameter", "Unexpected", "BackupIntegrityFailed"] as const) expect(isTransientBackupFailure(code)).toBe(false);
  });
});
