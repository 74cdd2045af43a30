// The 5,000-keys-per-HSM limit is checked against a cached count (counting a large object on every create cost
// O(n log n)); the cache must follow creates, deletes, recovers, single-key restores and wholesale replacement.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Instance } from "../../emulator/instance";
import { MAX_KEYS_HSM } from "../../emulator/keys/keyStore";
import type { SecurityDomain } from "../../emulator/securityDomain";

let dir: string;
let hsm: Instance;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "hsm-key-limit-"));
  const secret = randomBytes(32);
  hsm = new Instance({ name: "primary", kind: "managedHsm", stateDir: dir, securityDomain: { id: "sd", owner: "primary", secret } as SecurityDomain, keyBackupSecret: secret, purgeProtection: false, softDeleteRetentionDays: 7, admins: [] });
});
afterAll(async () => {
  await hsm.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("Managed HSM key limit", () => {
  it("refuses the 5,001st key, and counts deletes, recovers, restores and full replacement", async () => {
    const jwk = { kty: "oct", k: randomBytes(32).toString("base64url") };
    for (let i = 0; i < MAX_KEYS_HSM; i++) hsm.keys.import(`k${i}`, { key: jwk, Hsm: true });
    const limit = /at most 5000 keys/;
    await expect(hsm.keys.create("one-more", { kty: "oct-HSM" })).rejects.toThrow(limit);

    hsm.keys.delete("k0");
    await hsm.keys.create("replacement", { kty: "oct-HSM" });
    expect(() => hsm.keys.recover("k0")).not.toThrow(); // recovering is not creating: the service allows it
    expect(() => hsm.keys.import("again", { key: jwk, Hsm: true })).toThrow(limit);

    const backup = hsm.keys.backupPayload("k1");
    hsm.keys.delete("k1");
    hsm.keys.purge("k1");
    hsm.keys.delete("k2");
    hsm.keys.purge("k2");
    hsm.keys.restorePayload(backup); // 5,001 after the recover, minus two, plus one: at the limit again
    expect(() => hsm.keys.import("still-full", { key: jwk, Hsm: true })).toThrow(limit);
    hsm.keys.delete("k3");
    hsm.keys.import("last", { key: jwk, Hsm: true });
    expect(() => hsm.keys.import("too-many", { key: jwk, Hsm: true })).toThrow(limit);

    await hsm.replaceFromSnapshot({ ...hsm.snapshot(), keys: {} });
    hsm.keys.import("after-restore", { key: jwk, Hsm: true });
    expect(hsm.keys.list()).toHaveLength(1);
  });
});
