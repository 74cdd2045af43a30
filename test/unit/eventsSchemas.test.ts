import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import Ajv from "ajv";
import { describe, expect, it } from "vitest";
import { LifecycleEventType } from "../../shared/events/lifecycleEventTypes";
import { lifecycleEventSchemas, validateLifecycleEventData } from "../../shared/events/validateLifecycleEventData";
import { lifecycleSamples } from "../support/lifecycleEventSamples";

const schemaDir = path.join(__dirname, "../../shared/events/schemas");

describe("lifecycle event schemas", () => {
  it("keeps one schema file per published type, each a valid strict draft-07 schema", () => {
    const files = readdirSync(schemaDir).filter((f) => f.endsWith(".schema.json"));
    expect(files).toHaveLength(Object.values(LifecycleEventType).length);
    const ajv = new Ajv({ strict: true });
    for (const file of files) {
      const schema = JSON.parse(readFileSync(path.join(schemaDir, file), "utf8")) as object;
      expect(() => ajv.compile(schema), file).not.toThrow();
    }
    expect(Object.keys(lifecycleEventSchemas).sort()).toEqual(Object.values(LifecycleEventType).sort());
  });

  it.each(Object.values(LifecycleEventType))("accepts a valid %s payload", (type) => {
    expect(validateLifecycleEventData(type, lifecycleSamples[type])).toEqual([]);
  });

  it.each(Object.values(LifecycleEventType))("rejects a %s payload with a missing field and an unknown one", (type) => {
    const sample = { ...(lifecycleSamples[type] as unknown as Record<string, unknown>) };
    const [firstField] = Object.keys(sample);
    delete sample[firstField!];
    sample["secretMaterial"] = "must not be smuggled into events";
    const errors = validateLifecycleEventData(type, sample);
    expect(errors.some((e) => e.includes(`must have required property '${firstField!}'`))).toBe(true);
    expect(errors.some((e) => e.includes("secretMaterial"))).toBe(true);
  });

  it("shapes the synthesised expiry events exactly like Key Vault's (PascalCase, Unix seconds)", () => {
    const sample = lifecycleSamples[LifecycleEventType.KeyNearExpiry];
    expect(validateLifecycleEventData(LifecycleEventType.KeyNearExpiry, { ...sample, EXP: "1766476800" })).not.toEqual([]);
    expect(validateLifecycleEventData(LifecycleEventType.KeyNearExpiry, { ...sample, ObjectType: "Secret" })).not.toEqual([]);
    const camel = { id: sample.Id, vaultName: sample.VaultName, objectType: "Key", objectName: sample.ObjectName, version: sample.Version, nbf: null, exp: sample.EXP };
    expect(validateLifecycleEventData(LifecycleEventType.KeyNearExpiry, camel)).not.toEqual([]);
  });

  it("rejects an unversioned key id and a type we do not publish", () => {
    const sample = lifecycleSamples[LifecycleEventType.KeyRotated];
    expect(validateLifecycleEventData(LifecycleEventType.KeyRotated, { ...sample, keyId: "https://primary.managedhsm.azure.net/keys/payments-cmk" })).not.toEqual([]);
    expect(validateLifecycleEventData("HsmLifecycle.Unknown", sample)).toEqual(['"HsmLifecycle.Unknown" is not a lifecycle event type we publish.']);
  });
});
