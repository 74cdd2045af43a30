// Drives every CryptographyClient method against both flavours; results are checked with node:crypto
// against the public JWK the emulator returned (never against the emulator itself alone).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { constants, createCipheriv, createHash, createPublicKey, publicEncrypt, randomBytes, verify as nodeVerify } from "node:crypto";
import { RestError } from "@azure/core-rest-pipeline";
import type { JsonWebKey, KeyClient, KeyVaultKey } from "@azure/keyvault-keys";
import { startTestEmulator, type TestEmulator } from "../support/emulator";

let emu: TestEmulator;
beforeAll(async () => {
  emu = await startTestEmulator({ hsms: ["hsm1"], vaults: ["vault1"] });
});
afterAll(async () => {
  await emu?.close();
});

function publicKeyOf(jwk: JsonWebKey) {
  const b = (u?: Uint8Array): string | undefined => (u ? Buffer.from(u).toString("base64url") : undefined);
  if (jwk.n) return createPublicKey({ key: { kty: "RSA", n: b(jwk.n), e: b(jwk.e) }, format: "jwk" });
  return createPublicKey({ key: { kty: "EC", crv: jwk.crv === "P-256K" ? "secp256k1" : jwk.crv, x: b(jwk.x), y: b(jwk.y) }, format: "jwk" });
}

const hashOf = (alg: string): string => `sha${alg.slice(2)}`;

describe.each([
  { instance: "hsm1", kind: "managedHsm" },
  { instance: "vault1", kind: "vault" },
])("CryptographyClient against $kind", ({ instance, kind }) => {
  let keys: KeyClient;
  let rsa: KeyVaultKey;
  beforeAll(async () => {
    keys = emu.keyClient(instance);
    rsa = await keys.createRsaKey(`rsa-crypto`, { keySize: 2048 });
  });

  it.each(["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"] as const)("%s signatures from the emulator verify with node:crypto", async (alg) => {
    const crypto = emu.cryptoClient(rsa.id!);
    const data = Buffer.from(`payload for ${alg}`);
    const digest = createHash(hashOf(alg)).update(data).digest();
    const signed = await crypto.sign(alg, digest);
    expect(signed.keyID).toBe(rsa.id);
    const ok = nodeVerify(hashOf(alg), data, {
      key: publicKeyOf(rsa.key!),
      padding: alg.startsWith("PS") ? constants.RSA_PKCS1_PSS_PADDING : constants.RSA_PKCS1_PADDING,
      ...(alg.startsWith("PS") ? { saltLength: Number(alg.slice(2)) / 8 } : {}),
    }, Buffer.from(signed.result));
    expect(ok).toBe(true);
    expect((await crypto.verify(alg, digest, signed.result)).result).toBe(true);
    // SDK 4.10.2 verifies PS* locally with PKCS#1 v1.5 padding (rsaCryptographyProvider.verifyData), so
    // verifyData can only succeed for RS*; PS* signatures are checked remotely (verify) and with node:crypto above.
    if (alg.startsWith("RS")) expect((await crypto.verifyData(alg, data, signed.result)).result).toBe(true);
    const signedData = await crypto.signData(alg, data);
    expect((await crypto.verify(alg, digest, signedData.result)).result).toBe(true);
    const wrongDigest = createHash(hashOf(alg)).update("other").digest();
    expect((await crypto.verify(alg, wrongDigest, signed.result)).result).toBe(false);
  });

  it.each([
    ["ES256", "P-256"],
    ["ES384", "P-384"],
    ["ES512", "P-521"],
    ["ES256K", "P-256K"],
  ] as const)("%s signatures (raw r||s) verify with node:crypto", async (alg, curve) => {
    const ec = await keys.createEcKey(`ec-${curve.toLowerCase()}`, { curve });
    const crypto = emu.cryptoClient(ec.id!);
    const hash = alg === "ES256K" ? "sha256" : hashOf(alg);
    const data = Buffer.from("ecdsa data");
    const signed = await crypto.sign(alg, createHash(hash).update(data).digest());
    const ok = nodeVerify(hash, data, { key: publicKeyOf(ec.key!), dsaEncoding: "ieee-p1363" }, Buffer.from(signed.result));
    expect(ok).toBe(true);
    expect((await crypto.verifyData(alg, data, signed.result)).result).toBe(true);
  });

  it.each(["RSA1_5", "RSA-OAEP", "RSA-OAEP-256"] as const)("%s: ciphertext made locally decrypts remotely, and back", async (alg) => {
    const crypto = emu.cryptoClient(rsa.id!);
    const plaintext = randomBytes(32);
    const local = publicEncrypt(
      alg === "RSA1_5"
        ? { key: publicKeyOf(rsa.key!), padding: constants.RSA_PKCS1_PADDING }
        : { key: publicKeyOf(rsa.key!), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: alg === "RSA-OAEP-256" ? "sha256" : "sha1" },
      plaintext,
    );
    expect(Buffer.from((await crypto.decrypt({ algorithm: alg, ciphertext: local })).result).equals(plaintext)).toBe(true);
    const enc = await crypto.encrypt({ algorithm: alg, plaintext });
    expect(Buffer.from((await crypto.decrypt({ algorithm: alg, ciphertext: enc.result })).result).equals(plaintext)).toBe(true);
    const wrapped = await crypto.wrapKey(alg, plaintext);
    expect(Buffer.from((await crypto.unwrapKey(alg, wrapped.result)).result).equals(plaintext)).toBe(true);
  });

  it("refuses operations the key does not allow, and disabled or expired keys, server side", async () => {
    const key = await keys.createRsaKey("limited", { keyOps: ["verify"] });
    const digest = createHash("sha256").update("x").digest();
    // Raw HTTPS so the SDK's client-side checks cannot hide what the server does.
    const path = `/keys/limited/${key.properties.version}/sign?api-version=2025-07-01`;
    const notAllowed = await emu.request(instance, "POST", path, { body: { alg: "RS256", value: digest.toString("base64url") } });
    // The service's answer (recorded in Azure/azure-sdk-for-net#11518): 403 Forbidden, innererror KeyOperationForbidden.
    expect(notAllowed.status).toBe(403);
    expect(notAllowed.body.error).toMatchObject({ code: "Forbidden", message: "Operation sign is not permitted on this key.", innererror: { code: "KeyOperationForbidden" } });
    await keys.updateKeyProperties("limited", { keyOps: ["sign", "verify"], enabled: false });
    const disabled = await emu.request(instance, "POST", path, { body: { alg: "RS256", value: digest.toString("base64url") } });
    expect(disabled.status).toBe(403);
    expect(disabled.body.error.message).toContain("disabled");
    await keys.updateKeyProperties("limited", { enabled: true, expiresOn: new Date(Date.now() - 60_000) });
    const expired = await emu.request(instance, "POST", path, { body: { alg: "RS256", value: digest.toString("base64url") } });
    expect(expired.status).toBe(403);
    expect(expired.body.error.message).toContain("expired");
    await keys.updateKeyProperties("limited", { expiresOn: new Date(Date.now() + 86_400_000), notBefore: new Date(Date.now() + 3_600_000) });
    const early = await emu.request(instance, "POST", path, { body: { alg: "RS256", value: digest.toString("base64url") } });
    expect(early.status).toBe(403);
    await keys.updateKeyProperties("limited", { notBefore: new Date(Date.now() - 60_000) });
    const ok = await emu.request(instance, "POST", path, { body: { alg: "RS256", value: digest.toString("base64url") } });
    expect(ok.status).toBe(200);
    expect(JSON.stringify(ok.body)).not.toMatch(/"d"|"p"|"q"|"k"/);
  });

  it("rejects an algorithm that does not fit the key with 400 BadParameter", async () => {
    const crypto = emu.cryptoClient(rsa.id!);
    const e = await crypto.sign("ES256", createHash("sha256").update("x").digest()).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(RestError);
    expect((e as RestError).statusCode).toBe(400);
    expect((e as RestError).code).toBe("BadParameter");
  });

  if (kind === "managedHsm") {
    it.each(["A128GCM", "A192GCM", "A256GCM"] as const)("%s with oct-HSM: local AES-GCM ciphertext decrypts remotely and back", async (alg) => {
      const bits = Number(alg.slice(1, 4));
      const key = await keys.createOctKey(`aes-gcm-${bits}`, { hsm: true, keySize: bits });
      const crypto = emu.cryptoClient(key.id!);
      const plaintext = Buffer.from("attack at dawn");
      const aad = Buffer.from("header");
      const enc = await crypto.encrypt({ algorithm: alg, plaintext, additionalAuthenticatedData: aad });
      expect(enc.iv?.length).toBe(12);
      const dec = await crypto.decrypt({ algorithm: alg, ciphertext: enc.result, iv: enc.iv!, authenticationTag: enc.authenticationTag!, additionalAuthenticatedData: aad });
      expect(Buffer.from(dec.result).toString()).toBe("attack at dawn");
    });

    it.each(["A128CBCPAD", "A192CBCPAD", "A256CBCPAD"] as const)("%s with oct-HSM round-trips", async (alg) => {
      const bits = Number(alg.slice(1, 4));
      const key = await keys.createOctKey(`aes-cbc-${bits}`, { hsm: true, keySize: bits });
      const crypto = emu.cryptoClient(key.id!);
      const iv = randomBytes(16);
      const enc = await crypto.encrypt({ algorithm: alg, plaintext: Buffer.from("sixteen+ bytes of text"), iv });
      const dec = await crypto.decrypt({ algorithm: alg, ciphertext: enc.result, iv });
      expect(Buffer.from(dec.result).toString()).toBe("sixteen+ bytes of text");
    });

    it.each(["A128KW", "A192KW", "A256KW"] as const)("%s wraps and unwraps with oct-HSM", async (alg) => {
      const bits = Number(alg.slice(1, 4));
      const key = await keys.createOctKey(`aes-kw-${bits}`, { hsm: true, keySize: bits });
      const crypto = emu.cryptoClient(key.id!);
      const cek = randomBytes(32);
      const wrapped = await crypto.wrapKey(alg, cek);
      expect(wrapped.result.length).toBe(40);
      expect(Buffer.from((await crypto.unwrapKey(alg, wrapped.result)).result).equals(cek)).toBe(true);
    });
  }
});

// Keeps the import of createCipheriv meaningful: AES-GCM made locally must decrypt remotely too.
describe("local AES-GCM interop", () => {
  it("decrypts a locally made A256GCM ciphertext only if the key matches (different key → 400)", async () => {
    const keys = emu.keyClient("hsm1");
    const key = await keys.createOctKey("aes-interop", { hsm: true, keySize: 256 });
    const localKey = randomBytes(32);
    const iv = randomBytes(12);
    const c = createCipheriv("aes-256-gcm", localKey, iv);
    const ct = Buffer.concat([c.update("x"), c.final()]);
    const e = await emu.cryptoClient(key.id!).decrypt({ algorithm: "A256GCM", ciphertext: ct, iv, authenticationTag: c.getAuthTag() }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect((e as RestError).statusCode).toBe(400);
  });
});
