import { describe, expect, it } from "vitest";
import { activityNames, orchestrationNames, triggerNames } from "../../shared/names";
import { batches } from "../../shared/rotation/batches";
import { normaliseVaultHost, noticeEventId, rotationInstanceId } from "../../shared/rotation/rotationIds";

describe("rotationInstanceId", () => {
  it("is rotate:{vault}:{key}:{version} with the host normalised", () => {
    const id = rotationInstanceId({ vaultUrl: "https://Contoso.ManagedHSM.azure.net:443/", name: "Pay-Key", version: "ABC123" });
    expect(id).toBe("rotate:contoso.managedhsm.azure.net:pay-key:abc123");
  });

  it("gives the same id from a vault URL, a key id URL (as events carry) and a bare host", () => {
    const a = rotationInstanceId({ vaultUrl: "https://kv1.vault.azure.net", name: "k", version: "v1" });
    const b = rotationInstanceId({ vaultUrl: "https://kv1.vault.azure.net/keys/k/v1", name: "k", version: "v1" });
    const c = rotationInstanceId({ vaultUrl: "KV1.vault.azure.net.", name: "K", version: "V1" });
    expect(new Set([a, b, c]).size).toBe(1);
  });

  it("keeps non-default ports so two emulator instances never share ids", () => {
    expect(normaliseVaultHost("https://127.0.0.1:8443")).toBe("127.0.0.1:8443");
    expect(rotationInstanceId({ vaultUrl: "https://127.0.0.1:8443", name: "k", version: "v" })).not.toBe(
      rotationInstanceId({ vaultUrl: "https://127.0.0.1:8444", name: "k", version: "v" }),
    );
  });

  it("escapes what durable instance ids cannot contain and stays within 256 characters", () => {
    const odd = rotationInstanceId({ vaultUrl: "https://h", name: "a/b\\c?d#e", version: "v\u0001" });
    expect(odd).toBe("rotate:h:a%2Fb%5Cc%3Fd%23e:v%01");
    expect(odd).not.toMatch(/[/\\?#\u0000-\u001f]/);
    const long = rotationInstanceId({ vaultUrl: `https://${"h".repeat(200)}.example`, name: "k".repeat(127), version: "f".repeat(32) });
    expect(long.length).toBe(256);
    expect(long).toMatch(/~[0-9a-f]{16}$/);
    const long2 = rotationInstanceId({ vaultUrl: `https://${"h".repeat(200)}.example`, name: "k".repeat(126) + "j", version: "f".repeat(32) });
    expect(long2).not.toBe(long);
    expect(rotationInstanceId({ vaultUrl: `https://${"h".repeat(200)}.example`, name: "k".repeat(127), version: "f".repeat(32) })).toBe(long);
  });

  it("refuses to build an id without a version (list pages of keys carry none)", () => {
    expect(() => rotationInstanceId({ vaultUrl: "https://h", name: "k", version: "" })).toThrow(/needs the key's current version/);
  });
});

describe("noticeEventId", () => {
  it("is one id per key, version and stage", () => {
    const base = { vaultUrl: "https://hsm.managedhsm.azure.net", name: "k", version: "v1" };
    expect(noticeEventId({ ...base, stage: "P7D" })).toBe("notice:hsm.managedhsm.azure.net:k:v1:P7D");
    const ids = new Set([
      noticeEventId({ ...base, stage: "P7D" }),
      noticeEventId({ ...base, stage: "P1D" }),
      noticeEventId({ ...base, stage: "expired" }),
      noticeEventId({ ...base, version: "v2", stage: "P7D" }),
      noticeEventId({ ...base, stage: "P7D" }),
    ]);
    expect(ids.size).toBe(4);
  });
});

describe("batches", () => {
  it("splits in order into bounded batches", () => {
    expect(batches([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(batches([], 50)).toEqual([]);
    expect(batches(Array.from({ length: 5000 }, (_, i) => i), 200).map((b) => b.length).every((n) => n === 200)).toBe(true);
  });

  it("rejects sizes outside 1..200", () => {
    for (const bad of [0, -1, 1.5, 201, Number.NaN]) expect(() => batches([1], bad)).toThrow(RangeError);
  });
});

describe("names", () => {
  it("declares every function name once, camelCase, unique across orchestrations, activities and triggers", () => {
    const all = [...Object.entries(orchestrationNames), ...Object.entries(activityNames), ...Object.entries(triggerNames)];
    for (const [key, value] of all) {
      expect(value).toBe(key);
      expect(value).toMatch(/^[a-z][A-Za-z0-9]*$/);
    }
    expect(new Set(all.map(([, v]) => v)).size).toBe(all.length);
  });
});
