import { describe, expect, it } from "vitest";
import { loadSettings } from "../../shared/config/settings";
import { TEST_MANIFEST_KEY } from "../support/manifestKey";
import { assessDrillConfig, assessDrillIdentity } from "../../shared/drill/assessDrillSafety";
import { normaliseHsmUrl } from "../../shared/drill/normaliseHsmUrl";
import { guardDrillTarget } from "../../shared/drill/activities/targetGuard";

const settingsWith = (hsms: string, drillPairs: string) =>
  loadSettings({
    HSMS: hsms,
    DRILL_PAIRS: drillPairs,
    STORAGE_CONNECTION_STRING: "UseDevelopmentStorage=true",
    LIFECYCLE_TOPIC_ENDPOINT: "https://topic.example.net/api/events",
    BACKUP_MANIFEST_KEY: TEST_MANIFEST_KEY,
  });

describe("normaliseHsmUrl", () => {
  it("makes spellings of one URL equal", () => {
    expect(normaliseHsmUrl("HTTPS://Contoso.ManagedHSM.azure.net:443/")).toBe("https://contoso.managedhsm.azure.net");
    expect(normaliseHsmUrl("https://contoso.managedhsm.azure.net.")).toBe("https://contoso.managedhsm.azure.net");
    expect(normaliseHsmUrl("https://127.0.0.1:8443/keys")).toBe("https://127.0.0.1:8443");
    expect(normaliseHsmUrl("https://127.0.0.1:8443")).not.toBe(normaliseHsmUrl("https://127.0.0.1:8444"));
  });
  it("rejects a non-URL with the expected shape in the message", () => {
    expect(() => normaliseHsmUrl("contoso")).toThrow(/expected https:\/\/<name>\.managedhsm\.azure\.net/);
  });
});

describe("assessDrillConfig", () => {
  const settings = settingsWith("primary=https://p.managedhsm.azure.net,dr=https://d.managedhsm.azure.net,other=https://o.managedhsm.azure.net", "primary=dr");

  it("accepts a configured pair whose target is a drill target with its own URL", () => {
    expect(assessDrillConfig(settings, { primary: "primary", target: "dr" })).toEqual({ safe: true, primaryUrl: "https://p.managedhsm.azure.net", targetUrl: "https://d.managedhsm.azure.net" });
  });

  it("refuses a pair that is not configured, and a target that is a primary", () => {
    const v = assessDrillConfig(settings, { primary: "primary", target: "other" });
    expect(v.safe).toBe(false);
    const reasons = v.safe ? [] : v.reasons.join(" ");
    expect(reasons).toMatch(/not a configured drill pair \(DRILL_PAIRS: primary=dr\)/);
    expect(reasons).toMatch(/"other" is configured as a primary, not as a drill target/);
  });

  it("refuses an unknown target", () => {
    const v = assessDrillConfig(settings, { primary: "primary", target: "ghost" });
    expect(v.safe ? "" : v.reasons.join(" ")).toMatch(/"ghost" is not a configured HSM/);
  });

  it("refuses a target whose URL equals a primary's once normalised (settings built by hand)", () => {
    const hand = {
      hsms: [
        { name: "primary", kind: "managedHsm" as const, url: "https://p.managedhsm.azure.net", role: "primary" as const },
        { name: "dr", kind: "managedHsm" as const, url: "HTTPS://P.managedhsm.azure.net:443", role: "drillTarget" as const },
      ],
      drillPairs: [{ primary: "primary", target: "dr", primaryUrl: "https://p.managedhsm.azure.net", targetUrl: "HTTPS://P.managedhsm.azure.net:443" }],
    };
    const v = assessDrillConfig(hand, { primary: "primary", target: "dr" });
    expect(v.safe ? "" : v.reasons.join(" ")).toMatch(/same URL as primary "primary"/);
    expect(() => guardDrillTarget({ settings: { ...hand, objectives: { rtoMs: 1, rpoMs: 1 } } }, { primary: "primary", target: "dr" })).toThrow(/^\[DrillRefused\] Refusing to write to "dr":.*same URL/);
  });
});

describe("assessDrillIdentity", () => {
  const dr = { name: "dr", identity: { source: "arm" as const, name: "contoso-dr", url: "https://contoso-dr.managedhsm.azure.net", securityDomainId: "sd-1" } };

  it("passes when the target reports an identity no primary has (the shared security domain is not identity)", () => {
    expect(assessDrillIdentity(dr, [{ name: "primary", identity: { source: "arm" as const, name: "contoso", url: "https://contoso.managedhsm.azure.net", securityDomainId: "sd-1" } }])).toEqual([]);
  });

  it("refuses when the target URL is an alias of a primary (same reported name)", () => {
    const reasons = assessDrillIdentity({ name: "dr", identity: { source: "arm" as const, name: "Contoso", url: "https://contoso.managedhsm.azure.net" } }, [{ name: "primary", identity: { source: "arm" as const, name: "contoso", url: "https://contoso.managedhsm.azure.net" } }]);
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(/"dr" is the same HSM as primary "primary"/);
  });

  it("refuses when the reported canonical URL matches even under another name", () => {
    expect(assessDrillIdentity({ name: "dr", identity: { source: "arm" as const, name: "x", url: "https://contoso.managedhsm.azure.net:443/" } }, [{ name: "p", identity: { source: "arm" as const, name: "y", url: "https://CONTOSO.managedhsm.azure.net" } }])).toHaveLength(1);
  });

  it("fails closed when a primary's identity cannot be read", () => {
    const reasons = assessDrillIdentity(dr, [{ name: "primary", readError: "ECONNREFUSED" }]);
    expect(reasons.join(" ")).toMatch(/could not read the identity of primary "primary" \(ECONNREFUSED\)/);
  });
});
