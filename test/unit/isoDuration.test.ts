import { describe, expect, it } from "vitest";
import {
  addDuration,
  exactMs,
  formatIsoDuration,
  isIsoDuration,
  maximumMs,
  minimumMs,
  parseIsoDuration,
  subtractDuration,
} from "../../shared/rotation/isoDuration";

const DAY = 86_400_000;

describe("parseIsoDuration", () => {
  it("parses every component", () => {
    expect(parseIsoDuration("P1Y2M3W4DT5H6M7S")).toEqual({ years: 1, months: 2, weeks: 3, days: 4, hours: 5, minutes: 6, seconds: 7 });
    expect(parseIsoDuration("P90D")).toMatchObject({ days: 90, years: 0, hours: 0 });
    expect(parseIsoDuration("PT48H")).toMatchObject({ hours: 48, days: 0 });
    expect(parseIsoDuration("PT0S")).toMatchObject({ seconds: 0 });
  });

  it("rejects malformed text with a message naming the value and the form", () => {
    for (const bad of ["", "P", "PT", "90D", "P1.5D", "P-1D", "p30d", "P1DT", "P1H", "PT1D", "P1D2Y", " P1D", "P1DX"]) {
      expect(() => parseIsoDuration(bad), bad).toThrow(RangeError);
      expect(isIsoDuration(bad)).toBe(false);
    }
    expect(() => parseIsoDuration("P1.5D")).toThrow(/"P1.5D" is not an ISO 8601 duration; use whole numbers in the form PnYnMnWnDTnHnMnS/);
  });
});

describe("addDuration / subtractDuration", () => {
  it("adds days and time exactly in UTC", () => {
    expect(addDuration(new Date("2026-11-23T10:00:00Z"), parseIsoDuration("P30D")).toISOString()).toBe("2026-12-23T10:00:00.000Z");
    expect(addDuration(new Date("2026-03-28T23:30:00Z"), parseIsoDuration("PT1H")).toISOString()).toBe("2026-03-29T00:30:00.000Z");
    expect(subtractDuration(new Date("2026-12-01T00:00:00Z"), parseIsoDuration("P1W1DT1S")).toISOString()).toBe("2026-11-22T23:59:59.000Z");
  });

  it("adds months on the calendar, clamped to the month's last day", () => {
    expect(addDuration(new Date("2026-01-31T12:00:00Z"), parseIsoDuration("P1M")).toISOString()).toBe("2026-02-28T12:00:00.000Z");
    expect(addDuration(new Date("2028-01-31T00:00:00Z"), parseIsoDuration("P1M")).toISOString()).toBe("2028-02-29T00:00:00.000Z");
    expect(addDuration(new Date("2026-11-15T00:00:00Z"), parseIsoDuration("P1Y2M")).toISOString()).toBe("2028-01-15T00:00:00.000Z");
    expect(subtractDuration(new Date("2026-03-31T00:00:00Z"), parseIsoDuration("P1M")).toISOString()).toBe("2026-02-28T00:00:00.000Z");
    expect(subtractDuration(new Date("2026-01-15T00:00:00Z"), parseIsoDuration("P2M")).toISOString()).toBe("2025-11-15T00:00:00.000Z");
  });
});

describe("lengths and formatting", () => {
  it("bounds calendar durations for limit checks", () => {
    expect(minimumMs(parseIsoDuration("P1M"))).toBe(28 * DAY);
    expect(maximumMs(parseIsoDuration("P1M"))).toBe(31 * DAY);
    expect(minimumMs(parseIsoDuration("P1Y"))).toBe(365 * DAY);
    expect(minimumMs(parseIsoDuration("P4W"))).toBe(28 * DAY);
  });

  it("gives exact milliseconds only for fixed durations", () => {
    expect(exactMs(parseIsoDuration("PT26H"))).toBe(26 * 3_600_000);
    expect(() => exactMs(parseIsoDuration("P1M"), "RPO_TARGET")).toThrow("RPO_TARGET must not use years or months");
  });

  it("formats canonically with weeks folded into days", () => {
    expect(formatIsoDuration(parseIsoDuration("P1W2D"))).toBe("P9D");
    expect(formatIsoDuration(parseIsoDuration("P0D"))).toBe("PT0S");
    expect(formatIsoDuration(parseIsoDuration("P1Y2M3DT4H5M6S"))).toBe("P1Y2M3DT4H5M6S");
    expect(formatIsoDuration(parseIsoDuration("PT36H"))).toBe("PT36H");
  });
});
