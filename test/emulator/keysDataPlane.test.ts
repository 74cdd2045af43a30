// Drives every KeyClient method against both emulator flavours over HTTPS with the real SDK.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KeyClient } from "@azure/keyvault-keys";
import { collect, restError, startTestEmulator, type TestEmulator } from "../support/emulator";

let emu: TestEmulator;

beforeAll(async () => {
  emu = await startTestEmulator({ hsms: ["hsm1"], vaults: ["vault1"] });
});
afterAll(async () => {
  await emu?.close();
});

describe.each([
  { instance: "hsm1", kind: "managedHsm", rsaKty: "RSA-HSM", ecKty: "EC-HSM" },
  { instance: "vault1", kind: "vault", rsaKty: "RSA", ecKty: "EC" },
])("KeyClient against $kind", ({ instance, kind, rsaKty, ecKty }) => {
  let client: KeyClient;
  beforeAll(() => {
    client = emu.keyClient(instance);
  });

  it("creates RSA and EC keys with real public material, wire attributes and a kid on the called host", async () => {
    const rsa = await client.createRsaKey("rsa-a", { keySize: 2048, tags: { team: "x" } });
    expect(rsa.keyType).toBe(rsaKty);
    expect(rsa.key?.n?.length).toBe(256);
    expect(Buffer.from(rsa.key!.e!).toString("hex")).toBe("010001");
    expect(rsa.id).toMatch(new RegExp(`^${emu.url(instance)}/keys/rsa-a/[0-9a-f]{32}$`));
    expect(rsa.properties.vaultUrl).toBe(emu.url(instance));
    expect(rsa.properties.recoveryLevel).toBe("Recoverable+Purgeable");
    expect(rsa.properties.recoverableDays).toBe(90);
    expect(rsa.properties.exportable).toBe(false);
    expect(rsa.properties.hsmPlatform).toBe(kind === "managedHsm" ? "2" : "0");
    expect(rsa.properties.tags).toEqual({ team: "x" });
    expect(rsa.properties.createdOn!.getTime() % 1000).toBe(0);
    expect(rsa.keyOperations).toEqual(["wrapKey", "decrypt", "encrypt", "unwrapKey", "sign", "verify"]);
    const k = rsa.key as Record<string, unknown>;
    for (const priv of ["d", "p", "q", "dp", "dq", "qi", "k"]) expect(k[priv]).toBeUndefined();

    const ec = await client.createEcKey("ec-a", { curve: "P-384", hsm: kind === "vault" });
    expect(ec.keyType).toBe("EC-HSM");
    expect(ec.key?.crv).toBe("P-384");
    expect(ec.key?.x?.length).toBe(48);
    expect((ec.key as Record<string, unknown>)["d"]).toBeUndefined();

    const generic = await client.createKey("generic-a", "EC", { curve: "P-256K" });
    expect(generic.key?.crv).toBe("P-256K");
    expect(generic.keyType).toBe(ecKty);
  });

  it("creates oct-HSM keys only on Managed HSM", async () => {
    if (kind === "managedHsm") {
      const oct = await client.createOctKey("aes-a", { hsm: true, keySize: 256 });
      expect(oct.keyType).toBe("oct-HSM");
      expect((oct.key as Record<string, unknown>)["k"]).toBeUndefined();
      const soft = await restError(client.createOctKey("aes-soft"));
      expect(soft.statusCode).toBe(400);
      expect(soft.code).toBe("BadParameter");
    } else {
      const e = await restError(client.createOctKey("aes-a", { hsm: true }));
      expect(e.statusCode).toBe(400);
      expect(e.code).toBe("BadParameter");
    }
  });

  it("imports a JWK and returns only its public part", async () => {
    const { generateKeyPairSync } = await import("node:crypto");
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const jwk = privateKey.export({ format: "jwk" });
    const b = (s: string | undefined): Uint8Array => Buffer.from(s!, "base64url");
    const imported = await client.importKey("imported-a", {
      kty: "RSA",
      n: b(jwk.n),
      e: b(jwk.e),
      d: b(jwk.d),
      p: b(jwk.p),
      q: b(jwk.q),
      dp: b(jwk.dp),
      dq: b(jwk.dq),
      qi: b(jwk.qi),
    }, { hardwareProtected: true, tags: { src: "import" } });
    expect(Buffer.from(imported.key!.n!).toString("base64url")).toBe(jwk.n);
    expect(imported.keyType).toBe("RSA-HSM");
    expect(imported.key?.d).toBeUndefined();
    expect(imported.properties.tags).toEqual({ src: "import" });
  });

  it("gets latest and specific versions, lists keys and versions with paging", async () => {
    const v1 = await client.createRsaKey("paged");
    const v2 = await client.createRsaKey("paged");
    expect(v2.properties.version).not.toBe(v1.properties.version);
    const latest = await client.getKey("paged");
    expect(latest.properties.version).toBe(v2.properties.version);
    const first = await client.getKey("paged", { version: v1.properties.version! });
    expect(first.id).toBe(v1.id);

    const versions = await collect(client.listPropertiesOfKeyVersions("paged"));
    expect(versions.map((v) => v.version).sort()).toEqual([v1.properties.version, v2.properties.version].sort());

    const pages: number[] = [];
    for await (const page of client.listPropertiesOfKeys().byPage({ maxPageSize: 2 })) pages.push(page.length);
    expect(pages.length).toBeGreaterThan(1);
    expect(pages.every((n) => n <= 2)).toBe(true);
    const names = (await collect(client.listPropertiesOfKeys())).map((k) => k.name);
    expect(names).toContain("paged");
    expect(names).toContain("rsa-a");
    expect(new Set(names).size).toBe(names.length);
  });

  it("updates enabled, nbf, exp, key_ops and tags", async () => {
    await client.createRsaKey("upd");
    const notBefore = new Date("2026-01-01T00:00:00Z");
    const expiresOn = new Date("2031-01-01T00:00:00Z");
    const updated = await client.updateKeyProperties("upd", { enabled: false, notBefore, expiresOn, keyOps: ["sign", "verify"], tags: { a: "b" } });
    expect(updated.properties.enabled).toBe(false);
    expect(updated.properties.notBefore?.toISOString()).toBe(notBefore.toISOString());
    expect(updated.properties.expiresOn?.toISOString()).toBe(expiresOn.toISOString());
    expect(updated.keyOperations).toEqual(["sign", "verify"]);
    const again = await client.getKey("upd");
    expect(again.properties.tags).toEqual({ a: "b" });
    expect(again.properties.enabled).toBe(false);
    const byVersion = await client.updateKeyProperties("upd", again.properties.version!, { enabled: true });
    expect(byVersion.properties.enabled).toBe(true);
  });

  it("soft-deletes, lists and gets deleted keys, recovers, and purges (204)", async () => {
    await client.createEcKey("del-a");
    const poller = await client.beginDeleteKey("del-a", { intervalInMs: 10 });
    const deleted = await poller.pollUntilDone();
    expect(deleted.properties.recoveryId).toBe(`${emu.url(instance)}/deletedkeys/del-a`);
    expect(deleted.properties.deletedOn).toBeInstanceOf(Date);
    expect(deleted.properties.scheduledPurgeDate!.getTime() - deleted.properties.deletedOn!.getTime()).toBe(90 * 86_400_000);
    expect((await restError(client.getKey("del-a"))).code).toBe("KeyNotFound");
    expect((await client.getDeletedKey("del-a")).name).toBe("del-a");
    expect((await collect(client.listDeletedKeys())).map((d) => d.name)).toContain("del-a");

    const conflict = await restError(client.createEcKey("del-a"));
    expect(conflict.statusCode).toBe(409);
    expect(conflict.code).toBe("Conflict");

    const recovered = await (await client.beginRecoverDeletedKey("del-a", { intervalInMs: 10 })).pollUntilDone();
    expect(recovered.name).toBe("del-a");
    expect((await client.getKey("del-a")).name).toBe("del-a");

    await (await client.beginDeleteKey("del-a", { intervalInMs: 10 })).pollUntilDone();
    await client.purgeDeletedKey("del-a");
    expect((await restError(client.getDeletedKey("del-a"))).statusCode).toBe(404);
    const fresh = await client.createEcKey("del-a");
    expect(fresh.name).toBe("del-a");
  });

  it("backs up a key and restores it after purge; a tampered blob is rejected", async () => {
    const original = await client.createRsaKey("bk");
    await client.createRsaKey("bk");
    const blob = await client.backupKey("bk");
    expect(blob).toBeInstanceOf(Uint8Array);
    const inUse = await restError(client.restoreKeyBackup(blob!));
    expect(inUse.statusCode).toBe(409);
    await (await client.beginDeleteKey("bk", { intervalInMs: 10 })).pollUntilDone();
    await client.purgeDeletedKey("bk");
    const restored = await client.restoreKeyBackup(blob!);
    expect(restored.name).toBe("bk");
    expect((await collect(client.listPropertiesOfKeyVersions("bk"))).map((v) => v.version)).toContain(original.properties.version);
    const tampered = Buffer.from(blob!);
    const mid = Math.floor(tampered.length / 2);
    tampered[mid] = (tampered[mid] ?? 0) ^ 0xff;
    const bad = await restError(client.restoreKeyBackup(tampered));
    expect(bad.statusCode).toBe(400);
    expect(bad.code).toBe("BadParameter");
    expect(bad.message).toContain("Backup blob contains invalid or corrupt version.");
  });

  it("sets and reads a rotation policy, rotates, and enforces the flavour's limits", async () => {
    await client.createRsaKey("rot");
    const policy = await client.updateKeyRotationPolicy("rot", {
      expiresIn: "P90D",
      lifetimeActions: [{ action: "Rotate", timeAfterCreate: "P30D" }],
    });
    expect(policy.id).toBe(`${emu.url(instance)}/keys/rot/rotationpolicy`);
    expect(policy.expiresIn).toBe("P90D");
    expect(policy.lifetimeActions?.find((a) => a.action === "Rotate")?.timeAfterCreate).toBe("P30D");
    expect((await client.getKeyRotationPolicy("rot")).expiresIn).toBe("P90D");

    const before = await client.getKey("rot");
    const rotated = await client.rotateKey("rot");
    expect(rotated.properties.version).not.toBe(before.properties.version);
    expect(rotated.properties.expiresOn!.getTime() - rotated.properties.createdOn!.getTime()).toBe(90 * 86_400_000);
    expect((await client.getKey("rot")).properties.version).toBe(rotated.properties.version);

    const tooOften = await restError(client.updateKeyRotationPolicy("rot", { lifetimeActions: [{ action: "Rotate", timeAfterCreate: kind === "managedHsm" ? "P27D" : "P6D" }] }));
    expect(tooOften.statusCode).toBe(400);
    expect(tooOften.message).toContain(kind === "managedHsm" ? "28 days" : "7 days");
    const shortExpiry = await restError(client.updateKeyRotationPolicy("rot", { expiresIn: "P20D" }));
    expect(shortExpiry.statusCode).toBe(400);
    expect(shortExpiry.message).toContain("28 days");
    // The failed updates changed nothing.
    expect((await client.getKeyRotationPolicy("rot")).expiresIn).toBe("P90D");
  });

  it("serves random bytes on Managed HSM only", async () => {
    if (kind === "managedHsm") {
      const bytes = await client.getRandomBytes(32);
      expect(bytes.length).toBe(32);
      expect((await restError(client.getRandomBytes(129))).code).toBe("BadParameter");
    } else {
      expect((await restError(client.getRandomBytes(8))).statusCode).toBe(400);
    }
  });

  it("hands out a CryptographyClient bound to the key", async () => {
    const key = await client.createEcKey("cc", { curve: "P-256" });
    const crypto = client.getCryptographyClient("cc");
    const { createHash } = await import("node:crypto");
    const digest = createHash("sha256").update("hello").digest();
    const signed = await crypto.sign("ES256", digest);
    expect(signed.keyID).toBe(key.id);
    expect((await crypto.verify("ES256", digest, signed.result)).result).toBe(true);
  });
});
