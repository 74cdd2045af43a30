import { describe, expect, it } from "vitest";
import { auditRetryDueAt, auditRetryOffsetsMs } from "../../shared/auditRetry/retrySchedule";
import { checkAuditRetryInput } from "../../shared/auditRetry/auditRetryInput";
import { auditRetryInstanceId } from "../../shared/auditRetry/startAuditRecordRetry";
import { AUDIT_RETRY_WORKLOADS } from "../../shared/auditRetry/auditRetryInput";
import roles from "../../shared/rbac/lifecycleRoles.json";

const MIN = 60_000;
const HOUR = 60 * MIN;

describe("the audit record retry schedule", () => {
  const failedAt = new Date("2026-12-06T02:00:00.000Z");

  it("waits 5 min, 30 min, 2 h, 6 h, then every 12 h, the last retry exactly 72 h after the failure", () => {
    const offsets = auditRetryOffsetsMs();
    expect(offsets).toEqual([5 * MIN, 35 * MIN, 155 * MIN, 515 * MIN, 515 * MIN + 12 * HOUR, 515 * MIN + 24 * HOUR, 515 * MIN + 36 * HOUR, 515 * MIN + 48 * HOUR, 515 * MIN + 60 * HOUR, 72 * HOUR]);
    const waits = offsets.map((o, i) => o - (offsets[i - 1] ?? 0));
    // The waits grow until they settle at 12 h; only the last, cut at the 72 h mark, is shorter.
    for (let i = 1; i < waits.length - 1; i++) expect(waits[i]).toBeGreaterThanOrEqual(waits[i - 1]!);
    expect(Math.max(...waits)).toBe(12 * HOUR);
  });

  it("gives each attempt its due time from the failure, and none past the schedule", () => {
    expect(auditRetryDueAt(failedAt, 1)?.toISOString()).toBe("2026-12-06T02:05:00.000Z");
    expect(auditRetryDueAt(failedAt, 2)?.toISOString()).toBe("2026-12-06T02:35:00.000Z");
    expect(auditRetryDueAt(failedAt, 4)?.toISOString()).toBe("2026-12-06T10:35:00.000Z");
    expect(auditRetryDueAt(failedAt, 10)?.toISOString()).toBe("2026-12-09T02:00:00.000Z");
    expect(auditRetryDueAt(failedAt, 11)).toBeUndefined();
    for (const attempt of [0, -1, 1.5, Number.NaN]) expect(auditRetryDueAt(failedAt, attempt)).toBeUndefined();
    expect(auditRetryDueAt(new Date("not a date"), 1)).toBeUndefined();
  });
});

describe("the audit record retry's input and instance id", () => {
  const good = { workload: "backup", blobName: "backup/primary/2026-12-06/20261206T020000000Z-failed.json", record: { outcome: "failed" }, failedAt: "2026-12-06T02:00:00.000Z", error: "[StorageUnreachable] …" };

  it("accepts what an outcome activity builds and refuses anything else, naming what is wrong", () => {
    expect(checkAuditRetryInput(good)).toBe(good);
    for (const workload of ["drill", "recovery", "rotation", "retention"]) expect(checkAuditRetryInput({ ...good, workload }).workload).toBe(workload);
    // The steward, the auditor and the HSMs write no audit record, so no retry may write as them.
    for (const workload of ["steward", "auditor", "hsm"]) {
      expect(() => checkAuditRetryInput({ ...good, workload }), workload).toThrow(/\[BadParameter\].*workload must be one of rotation, backup, retention, drill, recovery \(got/);
    }
    for (const blobName of ["../backup/x.json", "backup//x.json", "/backup/x.json", "backup/x.txt", "backup/./x.json", "backup/a?b.json"]) {
      expect(() => checkAuditRetryInput({ ...good, blobName }), blobName).toThrow(/\[BadParameter\].*blobName/);
    }
    expect(() => checkAuditRetryInput({ ...good, record: [1] })).toThrow(/record must be a JSON object/);
    expect(() => checkAuditRetryInput({ ...good, failedAt: "yesterday" })).toThrow(/failedAt/);
    expect(() => checkAuditRetryInput({ ...good, contentType: "text/html" })).toThrow(/contentType/);
    expect(() => checkAuditRetryInput(null)).toThrow(/not an object/);
  });

  it("retries only as identities the role file lets append to AUDIT_CONTAINER: no retry needs a role of its own", () => {
    const appenders = roles.azure.storageAssignments.filter((a) => a.container === "audit" && a.role === "auditAppender").map((a) => a.identity);
    expect([...AUDIT_RETRY_WORKLOADS].sort()).toEqual([...appenders].sort());
  });

  it("derives one instance id per blob name, without '/' and within durable's length limit", () => {
    expect(auditRetryInstanceId(good.blobName)).toBe("audit-retry:backup:primary:2026-12-06:20261206T020000000Z-failed.json");
    const long = `rotation/primary/${"k".repeat(250)}/t-KeyRotated.json`;
    expect(auditRetryInstanceId(long)).toMatch(/^audit-retry:sha256-[0-9a-f]{64}$/);
    expect(auditRetryInstanceId(long)).toBe(auditRetryInstanceId(long));
    expect(auditRetryInstanceId(long)).not.toBe(auditRetryInstanceId(long.replace("t-", "u-")));
  });
});
