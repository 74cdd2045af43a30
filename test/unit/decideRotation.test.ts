import { describe, expect, it } from "vitest";
import { parseRotationPolicy } from "../../shared/rotation/checkRotationPolicy";
import { decideRotation } from "../../shared/rotation/decideRotation";
import { planRotation } from "../../shared/rotation/planRotation";
import type { PolicyInstance } from "../../shared/rotation/policyTypes";
import { globMatch, selectRule } from "../../shared/rotation/selectRule";

const hsm: PolicyInstance = { name: "primary", kind: "managedHsm" };
const vault: PolicyInstance = { name: "app", kind: "vault" };
const instances = [hsm, vault];

const policy = parseRotationPolicy(
  {
    version: 1,
    defaults: { notifyBefore: ["P7D", "P30D", "P1D"], gracePeriod: "P2D" },
    exclusions: [
      { keyName: "legacy-*", reason: "pinned by consumers" },
      { instances: ["app"], tags: { rotation: "manual" }, reason: "owner rotates" },
    ],
    rules: [
      { name: "pay", instances: ["primary"], keyName: "pay-*", rotateBeforeExpiry: "P30D", newVersionExpiry: "P180D", maxAge: "P150D" },
      { name: "tagged", instances: ["primary"], tags: { tier: "gold" }, maxAge: "P90D" },
      { name: "hsm-default", instances: ["primary"], rotateBeforeExpiry: "P30D", newVersionExpiry: "P365D" },
      { name: "vault-owned", instances: ["app"], tags: { owner: "*" }, rotateBeforeExpiry: "P14D", newVersionExpiry: "P90D" },
      { name: "vault-notify", instances: ["app"], autoRotate: false },
    ],
  },
  instances,
);

const now = new Date("2026-11-23T12:00:00.000Z");
const iso = (ms: number): string => new Date(now.getTime() + ms).toISOString();
const DAY = 86_400_000;

describe("decideRotation: near expiry boundaries", () => {
  const key = (expiresInMs: number, extra: Record<string, unknown> = {}) => ({
    name: "k1",
    enabled: true,
    createdOn: iso(-100 * DAY),
    expiresOn: iso(expiresInMs),
    ...extra,
  });

  it("rotates exactly at rotate-before-expiry (inclusive), with the P30D notice", () => {
    expect(decideRotation(key(30 * DAY), hsm, policy, now)).toEqual({
      kind: "rotate",
      reason: "nearExpiry",
      rule: "hsm-default",
      dueOn: now.toISOString(),
      notice: "P30D",
    });
  });

  it("does not rotate one millisecond before rotate-before-expiry, and says when it becomes due", () => {
    expect(decideRotation(key(30 * DAY + 1), hsm, policy, now)).toEqual({
      kind: "skip",
      reason: "notDue",
      rule: "hsm-default",
      nextDueOn: iso(1),
    });
  });

  it("rotates an expired key at once, reason expired, notice expired — also exactly at expiresOn", () => {
    expect(decideRotation(key(-DAY), hsm, policy, now)).toMatchObject({ kind: "rotate", reason: "expired", notice: "expired", dueOn: iso(-DAY) });
    expect(decideRotation(key(0), hsm, policy, now)).toMatchObject({ kind: "rotate", reason: "expired", notice: "expired" });
  });

  it("reports the most urgent notice stage reached", () => {
    expect(decideRotation(key(7 * DAY), hsm, policy, now)).toMatchObject({ kind: "rotate", reason: "nearExpiry", notice: "P7D" });
    expect(decideRotation(key(DAY - 1), hsm, policy, now)).toMatchObject({ notice: "P1D" });
  });

  it("accepts Date objects as well as ISO text (activity results arrive as JSON)", () => {
    const asDates = { name: "k1", enabled: true, createdOn: new Date(now.getTime() - DAY), expiresOn: new Date(now.getTime() + 10 * DAY) };
    expect(decideRotation(asDates, hsm, policy, now)).toMatchObject({ kind: "rotate", reason: "nearExpiry", notice: "P30D" });
  });
});

describe("decideRotation: max age", () => {
  it("rotates at exactly maxAge and not one millisecond earlier", () => {
    const created = (agoMs: number) => ({ name: "pay-1", enabled: true, createdOn: iso(-agoMs), expiresOn: iso(170 * DAY) });
    expect(decideRotation(created(150 * DAY), hsm, policy, now)).toEqual({ kind: "rotate", reason: "maxAge", rule: "pay", dueOn: now.toISOString() });
    expect(decideRotation(created(150 * DAY - 1), hsm, policy, now)).toEqual({ kind: "skip", reason: "notDue", rule: "pay", nextDueOn: iso(1) });
  });

  it("prefers expired over nearExpiry over maxAge when several apply", () => {
    const old = { name: "pay-2", enabled: true, createdOn: iso(-400 * DAY), expiresOn: iso(10 * DAY) };
    expect(decideRotation(old, hsm, policy, now)).toMatchObject({ reason: "nearExpiry" });
    expect(decideRotation({ ...old, expiresOn: iso(-1) }, hsm, policy, now)).toMatchObject({ reason: "expired" });
  });
});

describe("decideRotation: what is skipped", () => {
  it("skips disabled keys", () => {
    expect(decideRotation({ name: "k", enabled: false, expiresOn: iso(-DAY) }, hsm, policy, now)).toEqual({ kind: "skip", reason: "disabled", rule: "hsm-default" });
  });

  it("skips excluded keys even when expired, with the exclusion's reason and the notice nobody else sends", () => {
    expect(decideRotation({ name: "LEGACY-db", enabled: true, expiresOn: iso(-DAY) }, hsm, policy, now)).toEqual({
      kind: "skip",
      reason: "excluded",
      detail: "pinned by consumers",
      notice: "expired",
    });
    expect(decideRotation({ name: "k", tags: { owner: "a", rotation: "manual" }, expiresOn: iso(-DAY) }, vault, policy, now)).toMatchObject({
      reason: "excluded",
      detail: "owner rotates",
    });
  });

  it("gives an excluded key expiring soon the notice stage of the rule it would fall under, else Key Vault's 30 days", () => {
    // hsm-default (stages P30D, P7D, P1D from the defaults) would govern legacy-db: 3 days left is the P7D stage.
    expect(decideRotation({ name: "legacy-db", enabled: true, expiresOn: iso(3 * DAY) }, hsm, policy, now)).toEqual({ kind: "skip", reason: "excluded", detail: "pinned by consumers", notice: "P7D" });
    expect(decideRotation({ name: "legacy-db", enabled: true, expiresOn: iso(40 * DAY) }, hsm, policy, now)).toEqual({ kind: "skip", reason: "excluded", detail: "pinned by consumers" });
    // Disabled or certificate-backed: nobody uses it, or the certificate renews it; no notice.
    expect(decideRotation({ name: "legacy-db", enabled: false, expiresOn: iso(3 * DAY) }, hsm, policy, now)).not.toHaveProperty("notice");
    expect(decideRotation({ name: "legacy-db", managed: true, expiresOn: iso(3 * DAY) }, hsm, policy, now)).not.toHaveProperty("notice");
    const onlyExclusion = parseRotationPolicy({ version: 1, exclusions: [{ keyName: "legacy-*", reason: "by hand" }], rules: [{ name: "pay", instances: ["primary"], keyName: "pay-*", maxAge: "P90D" }] }, instances);
    expect(decideRotation({ name: "legacy-db", expiresOn: iso(29 * DAY) }, hsm, onlyExclusion, now)).toMatchObject({ reason: "excluded", notice: "P30D" });
    expect(decideRotation({ name: "legacy-db", expiresOn: iso(31 * DAY) }, hsm, onlyExclusion, now)).not.toHaveProperty("notice");
  });

  it("skips certificate-managed keys and keys no rule selects", () => {
    expect(decideRotation({ name: "k", managed: true, expiresOn: iso(-DAY) }, hsm, policy, now)).toMatchObject({ kind: "skip", reason: "managed" });
    expect(decideRotation({ name: "k" }, { name: "other", kind: "vault" }, policy, now)).toEqual({ kind: "skip", reason: "noRule" });
  });

  it("skips a Managed HSM key at the 100-version limit, but not a vault key", () => {
    const due = { name: "k", enabled: true, expiresOn: iso(-DAY), tags: { owner: "x" } };
    expect(decideRotation(due, hsm, policy, now, { versionCount: 100 })).toMatchObject({ kind: "skip", reason: "versionLimit", rule: "hsm-default", notice: "expired" });
    expect(decideRotation({ ...due, expiresOn: undefined, createdOn: iso(-400 * DAY), tags: { tier: "gold" } }, hsm, policy, now, { versionCount: 100 })).not.toHaveProperty("notice");
    expect(decideRotation(due, hsm, policy, now, { versionCount: 99 })).toMatchObject({ kind: "rotate" });
    expect(decideRotation(due, vault, policy, now, { versionCount: 250 })).toMatchObject({ kind: "rotate", rule: "vault-owned" });
  });

  it("treats a key without expiry or creation date as not due", () => {
    expect(decideRotation({ name: "k", enabled: true }, hsm, policy, now)).toEqual({ kind: "skip", reason: "notDue", rule: "hsm-default" });
  });
});

describe("decideRotation: selectors", () => {
  it("uses the first matching rule in file order: tag rule before the default, name rule before both", () => {
    expect(decideRotation({ name: "k", tags: { tier: "gold" }, createdOn: iso(-90 * DAY) }, hsm, policy, now)).toMatchObject({ rule: "tagged", reason: "maxAge" });
    expect(decideRotation({ name: "pay-9", tags: { tier: "gold" }, createdOn: iso(-90 * DAY) }, hsm, policy, now)).toMatchObject({ kind: "skip", rule: "pay" });
    expect(decideRotation({ name: "k", tags: { tier: "silver" }, createdOn: iso(-90 * DAY) }, hsm, policy, now)).toMatchObject({ rule: "hsm-default" });
  });

  it("matches tag presence with * and exact values otherwise", () => {
    expect(selectRule(policy, "app", { name: "k", tags: { owner: "" } })).toMatchObject({ kind: "rule", rule: { name: "vault-owned" } });
    expect(selectRule(policy, "app", { name: "k", tags: { Owner: "x" } })).toMatchObject({ kind: "rule", rule: { name: "vault-notify" } });
  });

  it("notifies without rotating under autoRotate: false", () => {
    expect(decideRotation({ name: "k", enabled: true, expiresOn: iso(5 * DAY) }, vault, policy, now)).toEqual({ kind: "notify", stage: "P7D", rule: "vault-notify" });
    expect(decideRotation({ name: "k", enabled: true, expiresOn: iso(-5) }, vault, policy, now)).toEqual({ kind: "notify", stage: "expired", rule: "vault-notify" });
    expect(decideRotation({ name: "k", enabled: true, expiresOn: iso(40 * DAY) }, vault, policy, now)).toEqual({
      kind: "skip",
      reason: "notDue",
      rule: "vault-notify",
      nextDueOn: iso(10 * DAY),
    });
  });

  it("is deterministic: same input, same output, input untouched", () => {
    const key = Object.freeze({ name: "pay-1", enabled: true, createdOn: iso(-160 * DAY), expiresOn: iso(20 * DAY) });
    const a = decideRotation(key, hsm, policy, now);
    const b = decideRotation(key, hsm, policy, new Date(now.getTime()));
    expect(a).toEqual(b);
  });
});

describe("globMatch", () => {
  it("matches * and ? case-insensitively, literally otherwise", () => {
    expect(globMatch("pay-*", "PAY-card")).toBe(true);
    expect(globMatch("pay-*", "repay-card")).toBe(false);
    expect(globMatch("k?", "k1")).toBe(true);
    expect(globMatch("k?", "k12")).toBe(false);
    expect(globMatch("*-*-x", "a-b-c-x")).toBe(true);
    expect(globMatch("*", "")).toBe(true);
    expect(globMatch("a*b*c", "a".repeat(100))).toBe(false);
  });
});

describe("planRotation", () => {
  it("groups every key's decision exactly as decideRotation makes it", () => {
    const hsmKeys = [
      { name: "due", enabled: true, expiresOn: iso(DAY) },
      { name: "later", enabled: true, expiresOn: iso(300 * DAY) },
      { name: "full", enabled: true, expiresOn: iso(-DAY) },
    ];
    const vaultKeys = [{ name: "n", enabled: true, expiresOn: iso(2 * DAY) }];
    const plan = planRotation(
      [
        { instance: hsm, keys: hsmKeys, versionCounts: { full: 100 } },
        { instance: vault, keys: vaultKeys },
      ],
      policy,
      now,
    );
    expect(plan.at).toBe(now.toISOString());
    expect(plan.rotate.map((e) => `${e.instance}/${e.key}`)).toEqual(["primary/due"]);
    expect(plan.notify.map((e) => `${e.instance}/${e.key}`)).toEqual(["app/n"]);
    expect(plan.skip.map((e) => [e.key, e.decision.kind === "skip" ? e.decision.reason : ""])).toEqual([
      ["later", "notDue"],
      ["full", "versionLimit"],
    ]);
    for (const e of [...plan.rotate, ...plan.notify, ...plan.skip]) {
      const inst = e.instance === "primary" ? hsm : vault;
      const key = [...hsmKeys, ...vaultKeys].find((k) => k.name === e.key)!;
      expect(e.decision).toEqual(decideRotation(key, inst, policy, now, e.key === "full" ? { versionCount: 100 } : {}));
    }
  });
});
