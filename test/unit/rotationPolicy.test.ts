import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LifecycleError } from "../../shared/errors";
import { checkRotationPolicy, formatViolation, parseRotationPolicy } from "../../shared/rotation/checkRotationPolicy";
import type { PolicyInstance, RotationPolicyDocument } from "../../shared/rotation/policyTypes";
import { readRotationPolicyFile } from "../../shared/rotation/readRotationPolicyFile";

const instances: PolicyInstance[] = [
  { name: "primary", kind: "managedHsm" },
  { name: "app", kind: "vault" },
];

function violations(doc: unknown, on: PolicyInstance[] = instances): string[] {
  const r = checkRotationPolicy(doc, on);
  expect(r.policy).toBeUndefined();
  return r.violations.map(formatViolation);
}

const rule = (extra: Record<string, unknown>): RotationPolicyDocument =>
  ({ version: 1, rules: [{ name: "r1", rotateBeforeExpiry: "P30D", newVersionExpiry: "P90D", ...extra }] }) as RotationPolicyDocument;

describe("rotation policy: schema", () => {
  it("accepts the example policy shipped in the repo and resolves defaults, canonical durations and instances", async () => {
    const policy = await readRotationPolicyFile("shared/rotation/rotation-policy.example.json", instances, join(__dirname, "..", ".."));
    expect(policy.rules.map((r) => r.name)).toEqual(["hsm-payment-keys", "hsm-default", "vault-app-keys", "vault-notify-only"]);
    expect(policy.rules[0]).toMatchObject({ gracePeriod: "P7D", notifyBefore: ["P30D", "P7D", "P1D"], maxAge: "P150D", keyName: "pay-*" });
    expect(policy.rules[1]).toMatchObject({ gracePeriod: "P2D", keyName: "*", tags: {}, autoRotate: true });
    expect(policy.exclusions[0]).toMatchObject({ instances: ["primary", "app"], keyName: "legacy-*" });
  });

  it("rejects unknown fields, missing names and bad durations, naming the rule", () => {
    const v = violations({
      version: 1,
      rules: [
        { name: "typo", rotateBeforeExpiry: "P30D", newVersionExpiry: "P90D", gracePeriode: "P1D" },
        { rotateBeforeExpiry: "P30D" },
        { name: "bad-duration", maxAge: "90 days" },
      ],
    });
    expect(v).toContain(
      'rules[0] "typo": has unknown field "gracePeriode"; allowed: name, instances, keyName, tags, rotateBeforeExpiry, maxAge, newVersionExpiry, gracePeriod, notifyBefore, autoRotate.',
    );
    expect(v).toContain('rules[1]: is missing required field "name".');
    expect(v).toContain('rules[2] "bad-duration": maxAge is not an ISO 8601 duration with whole numbers (e.g. P90D, P1Y, PT12H).');
  });

  it("rejects invalid JSON text and a wrong version", () => {
    expect(violations("{ not json")[0]).toMatch(/^policy: is not valid JSON/);
    expect(violations({ version: 2, rules: [] }).join("\n")).toMatch(/version/);
  });

  it("rejects selectors naming instances that are not configured for rotation", () => {
    expect(violations(rule({ instances: ["dr"] }))).toContain(
      'rules[0] "r1": selects instance "dr", which is not configured for rotation (HSMS primaries and VAULTS: primary, app).',
    );
  });

  it("rejects duplicate rule names and rules that rotate nothing", () => {
    const v = violations({ version: 1, rules: [{ name: "a", maxAge: "P90D" }, { name: "a", maxAge: "P90D" }, { name: "b", notifyBefore: ["P7D"] }] });
    expect(v).toContain('rules[1] "a": repeats a rule name; names must be unique.');
    expect(v).toContain('rules[2] "b": rotates nothing: set rotateBeforeExpiry and/or maxAge, or autoRotate: false for notices only.');
  });
});

describe("rotation policy: service limits", () => {
  it("enforces the Managed HSM 28-day minimum between rotations, naming the rule, the HSM and the limit", () => {
    const v = violations(rule({ instances: ["primary"], rotateBeforeExpiry: "P30D", newVersionExpiry: "P57D" }));
    expect(v).toEqual([
      'rules[0] "r1": rotates keys of Managed HSM primary every 27 days (newVersionExpiry P57D - rotateBeforeExpiry P30D). (limit: Managed HSM: at least 28 days between rotations)',
    ]);
    // Exactly 28 days is allowed.
    expect(checkRotationPolicy(rule({ instances: ["primary"], rotateBeforeExpiry: "P30D", newVersionExpiry: "P58D" }), instances).violations).toEqual([]);
    const age = violations({ version: 1, rules: [{ name: "fast", instances: ["primary"], maxAge: "P27D" }] });
    expect(age[0]).toContain('rules[0] "fast": rotates keys of Managed HSM primary every 27 days (maxAge P27D)');
  });

  it("counts a month as 28 days so a calendar duration passes only if it holds in February", () => {
    expect(checkRotationPolicy({ version: 1, rules: [{ name: "m", instances: ["primary"], maxAge: "P1M" }] }, instances).violations).toEqual([]);
    expect(violations({ version: 1, rules: [{ name: "w", instances: ["primary"], maxAge: "P3W6D" }] })[0]).toContain("every 27 days");
  });

  it("enforces the vault limits: 7 days between rotations, 7 days before expiry, expiry at least 28 days", () => {
    const v = violations(rule({ instances: ["app"], rotateBeforeExpiry: "P6D", newVersionExpiry: "P27D", maxAge: "P6D" }));
    expect(v).toContain('rules[0] "r1": rotates keys of vault app every 6 days (maxAge P6D). (limit: Key Vault: at least 7 days between rotations)');
    expect(v).toContain('rules[0] "r1": sets rotateBeforeExpiry P6D for vault app. (limit: Key Vault: rotation at least 7 days before expiry)');
    expect(v).toContain('rules[0] "r1": sets newVersionExpiry P27D for vault app. (limit: Key Vault: expiry of new versions at least 28 days)');
    // A 7-day interval is fine for a vault but not for an HSM covered by the same rule.
    const both = violations({ version: 1, rules: [{ name: "both", maxAge: "P7D" }] });
    expect(both).toEqual(['rules[0] "both": rotates keys of Managed HSM primary every 7 days (maxAge P7D). (limit: Managed HSM: at least 28 days between rotations)']);
  });

  it("requires newVersionExpiry with rotateBeforeExpiry and consistent durations", () => {
    expect(violations({ version: 1, rules: [{ name: "x", rotateBeforeExpiry: "P30D" }] })).toContain(
      'rules[0] "x": sets rotateBeforeExpiry without newVersionExpiry; new versions would never expire, so they would never rotate again. Set newVersionExpiry.',
    );
    expect(violations(rule({ rotateBeforeExpiry: "P90D", newVersionExpiry: "P90D" })).join("\n")).toContain("rotateBeforeExpiry P90D is not shorter than newVersionExpiry P90D");
    expect(violations(rule({ maxAge: "P120D" })).join("\n")).toContain("maxAge P120D is not shorter than newVersionExpiry P90D");
    expect(violations(rule({ notifyBefore: ["P90D"] })).join("\n")).toContain("notice stage P90D is not shorter than newVersionExpiry P90D");
  });

  it("applies defaults before checking limits", () => {
    const v = violations({ version: 1, defaults: { maxAge: "P10D" }, rules: [{ name: "inherits", instances: ["primary"] }] });
    expect(v[0]).toContain('rules[0] "inherits": rotates keys of Managed HSM primary every 10 days (maxAge P10D)');
  });

  it("parseRotationPolicy throws one PolicyInvalid error listing every violation", () => {
    try {
      parseRotationPolicy({ version: 1, rules: [{ name: "a", instances: ["primary"], maxAge: "P1D" }, { name: "b", instances: ["nope"], maxAge: "P90D" }] }, instances);
      throw new Error("accepted");
    } catch (e) {
      expect(e).toBeInstanceOf(LifecycleError);
      const err = e as LifecycleError;
      expect(err.code).toBe("PolicyInvalid");
      expect(err.message).toMatch(/^\[PolicyInvalid\] rotation policy has 2 problems: /);
      expect(err.message).toContain('rules[0] "a"');
      expect(err.message).toContain('rules[1] "b": selects instance "nope"');
    }
  });
});

describe("readRotationPolicyFile", () => {
  const dir = mkdtempSync(join(tmpdir(), "policy-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("names the file and the setting when the file is missing", async () => {
    await expect(readRotationPolicyFile("missing.json", instances, dir)).rejects.toThrow(
      `[PolicyInvalid] cannot read the rotation policy file ${join(dir, "missing.json")} (ENOENT). Fix: set ROTATION_POLICY_FILE`,
    );
  });

  it("names the file in validation errors", async () => {
    writeFileSync(join(dir, "p.json"), JSON.stringify({ version: 1, rules: [{ name: "a", maxAge: "P1D" }] }));
    await expect(readRotationPolicyFile(join(dir, "p.json"), instances)).rejects.toThrow(`rotation policy ${join(dir, "p.json")} has 2 problems: rules[0] "a": rotates keys of Managed HSM primary every 1 day (maxAge P1D)`);
  });
});
