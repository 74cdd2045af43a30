import { describe, expect, it } from "vitest";
import { happenedAtOf } from "../../cli/evidence/auditRows";
import { lifecycleRowOf } from "../../shared/lifecycleLog/lifecycleRow";

const at = (record: Record<string, unknown>): string => happenedAtOf(record, lifecycleRowOf("x/record.json", record));

describe("happenedAtOf: the period an audit record belongs to", () => {
  it("takes the time the event carries over the time the record was written", () => {
    expect(at({ recordedAt: "2026-12-06T17:00:00.000Z", finishedAt: "2027-01-10T02:05:00.000Z" })).toBe("2027-01-10T02:05:00.000Z");
    expect(at({ recordedAt: "2026-12-06T17:00:00.000Z", data: { completedAt: "2027-01-10T02:00:00Z" } })).toBe("2027-01-10T02:00:00.000Z");
    expect(at({ recordedAt: "2026-12-06T17:00:00.000Z", data: { rotatedAt: "2027-01-11T02:00:01.000Z" } })).toBe("2027-01-11T02:00:01.000Z");
    expect(at({ recordedAt: "2026-12-06T17:00:00.000Z", data: { failedAt: "2027-01-12T03:30:00.000Z" } })).toBe("2027-01-12T03:30:00.000Z");
  });

  it("falls back to the record's own time when the event carries none or a value that is not an instant", () => {
    expect(at({ recordedAt: "2026-12-06T17:00:00.000Z" })).toBe("2026-12-06T17:00:00.000Z");
    expect(at({ recordedAt: "2026-12-06T17:00:00.000Z", finishedAt: "soon", data: { completedAt: 42, failedAt: "2027-13-45T00:00:00Z" } })).toBe("2026-12-06T17:00:00.000Z");
    expect(at({ recordedAt: "2026-12-06T17:00:00.000Z", data: "not an object" })).toBe("2026-12-06T17:00:00.000Z");
  });
});
