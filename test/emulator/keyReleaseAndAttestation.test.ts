// KeyClient.releaseKey and getKeyAttestation: the released key is really the stored private key, wrapped
// for the attested environment's key, and release is refused when the claims miss the policy.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { constants, createDecipheriv, createPrivateKey, createPublicKey, generateKeyPairSync, privateDecrypt } from "node:crypto";
import { RestError } from "@azure/core-rest-pipeline";
import { startTestEmulator, type TestEmulator } from "../support/emulator";

let emu: TestEmulator;
beforeAll(async () => {
  emu = await startTestEmulator({ hsms: ["hsm1"], vaults: ["vault1"] });
});
afterAll(async () => {
  await emu?.close();
});

const AUTHORITY = "https://attest.emulator.local";
const policy = { version: "1.0.0", anyOf: [{ authority: AUTHORITY, allOf: [{ claim: "x-ms-attestation-type", equals: "sevsnpvm" }] }] };
const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString("base64url");

function attestationToken(claims: Record<string, unknown>): string {
  return `${b64({ alg: "RS256", typ: "JWT" })}.${b64(claims)}.c2ln`;
}

describe.each(["hsm1", "vault1"])("releaseKey on %s", (instance) => {
  it("releases the exportable key wrapped (CKM_RSA_AES_KEY_WRAP) for the attested key", async () => {
    const client = emu.keyClient(instance);
    const key = await client.createRsaKey("releasable", {
      exportable: true,
      hsm: true,
      releasePolicy: { encodedPolicy: Buffer.from(JSON.stringify(policy)) },
    });
    expect(key.properties.exportable).toBe(true);
    expect(key.properties.releasePolicy?.encodedPolicy).toBeDefined();
    const env = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const envJwk = env.publicKey.export({ format: "jwk" });
    const target = attestationToken({ iss: AUTHORITY, "x-ms-attestation-type": "sevsnpvm", "x-ms-runtime": { keys: [{ kid: "env-key", kty: "RSA", key_ops: ["encrypt"], n: envJwk.n, e: envJwk.e }] } });
    const released = await client.releaseKey("releasable", target, { nonce: "n-1" });
    const payload = JSON.parse(Buffer.from(released.value.split(".")[1]!, "base64url").toString("utf8"));
    expect(payload.request.nonce).toBe("n-1");
    expect(payload.response.key.key.kid).toBe(key.id);
    const keyHsm = JSON.parse(Buffer.from(payload.response.key.key.key_hsm, "base64url").toString("utf8"));
    expect(keyHsm.header).toEqual({ kid: "env-key", alg: "dir", enc: "CKM_RSA_AES_KEY_WRAP" });
    const cipher = Buffer.from(keyHsm.ciphertext, "base64url");
    const aesKey = privateDecrypt({ key: env.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha1" }, cipher.subarray(0, 256));
    const d = createDecipheriv("id-aes256-wrap-pad", aesKey, Buffer.from("A65959A6", "hex"));
    const pkcs8 = Buffer.concat([d.update(cipher.subarray(256)), d.final()]);
    const releasedPublic = createPublicKey(createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" })).export({ format: "jwk" });
    expect(releasedPublic.n).toBe(Buffer.from(key.key!.n!).toString("base64url"));
  });

  it("refuses release when the claims do not satisfy the policy, and for non-exportable keys", async () => {
    const client = emu.keyClient(instance);
    const env = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ format: "jwk" });
    const wrongType = attestationToken({ iss: AUTHORITY, "x-ms-attestation-type": "tdxvm", "x-ms-runtime": { keys: [{ kty: "RSA", n: env.n, e: env.e }] } });
    const denied = await client.releaseKey("releasable", wrongType).then(
      () => undefined,
      (e: unknown) => e as RestError,
    );
    expect(denied?.statusCode).toBe(403);
    await client.createRsaKey("sealed");
    const notExportable = await client.releaseKey("sealed", wrongType).then(
      () => undefined,
      (e: unknown) => e as RestError,
    );
    expect(notExportable?.statusCode).toBe(400);
    const noPolicy = await client.createRsaKey("half", { exportable: true }).then(
      () => undefined,
      (e: unknown) => e as RestError,
    );
    expect(noPolicy?.message).toContain("Exportable keys must have release policy");
  });
});

describe("getKeyAttestation", () => {
  it("returns the key with attestation statements on Managed HSM", async () => {
    const client = emu.keyClient("hsm1");
    const key = await client.createEcKey("attested");
    const attested = await client.getKeyAttestation("attested");
    expect(attested.id).toBe(key.id);
    const a = attested.properties.attestation!;
    expect(Buffer.from(a.certificatePemFile!).toString()).toContain("BEGIN CERTIFICATE");
    expect(JSON.parse(Buffer.from(a.publicKeyAttestation!).toString()).kid).toBe(key.id);
    expect(a.version).toBe("emulator-1.0");
    const byVersion = await client.getKeyAttestation("attested", { version: key.properties.version! });
    expect(byVersion.properties.version).toBe(key.properties.version);
  });

  it("is a Managed HSM feature: a vault answers 400", async () => {
    await emu.keyClient("vault1").createEcKey("attested");
    const e = await emu.keyClient("vault1").getKeyAttestation("attested").then(
      () => undefined,
      (err: unknown) => err as RestError,
    );
    expect(e?.statusCode).toBe(400);
  });
});
