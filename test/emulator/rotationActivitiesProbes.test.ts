// Verification probes of the rotation activity layer: a crypto round trip that fits the key type and
// key_ops, against the exact version id, through the real CryptographyClient and the emulator's HSM / vault.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RotationDeps, RotationInstance } from "../../shared/rotation/activities/deps";
import { ensurePolicyAndRotate } from "../../shared/rotation/activities/ensureAndRotate";
import { versionFactsOf } from "../../shared/rotation/activities/keyFacts";
import { rotateKeyVersion } from "../../shared/rotation/activities/rotateKeyVersion";
import { verifyKeyVersion } from "../../shared/rotation/activities/verifyKeyVersion";
import { createKeyClients } from "../../shared/hsm/keyClients";
import { configuredInstancesOf, startTestEmulator, type TestEmulator } from "../support/emulator";

const DAY = 86_400_000;
let emu: TestEmulator;
let deps: RotationDeps;
let hsm: RotationInstance;
let vault: RotationInstance;

beforeAll(async () => {
  emu = await startTestEmulator({ hsms: ["probehsm"], vaults: ["probevault"] });
  deps = { clients: createKeyClients(emu.credential(), { ca: emu.ca, emulatorMode: true, retryOptions: { maxRetries: 0 } }), instances: configuredInstancesOf(emu) };
  hsm = { name: "probehsm", kind: "managedHsm" };
  vault = { name: "probevault", kind: "vault" };
}, 60_000);

afterAll(async () => {
  await emu?.close();
});

/**
 * Creates a key, rotates it through the activity, and verifies the new version against the previous one,
 * wired as the rotateKey orchestration wires it: the rotate's answers go to the verification (no GET).
 */
async function rotateAndVerify(instance: RotationInstance, name: string, create: () => Promise<{ properties: { version?: string } }>) {
  const created = await create();
  const rotated = await rotateKeyVersion({ instance, name, fromVersion: created.properties.version ?? "", newVersionExpiry: "P90D" }, deps);
  expect(rotated.kind).toBe("rotated");
  if (rotated.previousKey === undefined) throw new Error("a rotation that rotated must return the previous version's facts");
  return verifyKeyVersion({ instance, name, version: rotated.version, key: rotated.newKey, previousVersion: rotated.previousVersion, previousKey: rotated.previousKey }, deps);
}

type AuditRow = { operationName: string; properties: { requestUri: string } };

/** The HSM requests the emulator's audit log holds for one key (every version, its policy), by operation. */
async function requestsFor(hsmName: string, key: string): Promise<string[]> {
  const audit = await emu.control(hsmName, "GET", "/_emulator/audit");
  return (audit.body.value as AuditRow[])
    .filter((r) => new URL(r.properties.requestUri).pathname.split("/")[2] === key)
    .map((r) => r.operationName)
    .sort();
}

describe("probes on a Managed HSM", () => {
  it("RSA-HSM: sign/verify and wrap/unwrap on the exact new version", async () => {
    const keys = emu.keyClient("probehsm");
    const result = await rotateAndVerify(hsm, "rsa-probe", () => keys.createRsaKey("rsa-probe", { hsm: true, keySize: 2048 }));
    expect(result).toMatchObject({ kind: "verified", checks: ["sign/verify RS256", "wrap/unwrap RSA-OAEP-256"], previous: { kind: "verified" } });
    const current = await keys.getKey("rsa-probe");
    expect(result.keyId).toBe(current.id);
    // The private-key halves ran on the HSM against that exact version, not the versionless key.
    const audit = await emu.control("probehsm", "GET", "/_emulator/audit");
    const used = (audit.body.value as { operationName: string; properties: { requestUri: string } }[])
      .filter((r) => r.operationName === "KeySign" || r.operationName === "KeyUnwrap")
      .map((r) => new URL(r.properties.requestUri).pathname);
    const v = current.properties.version ?? "";
    expect(used).toEqual(expect.arrayContaining([`/keys/rsa-probe/${v}/sign`, `/keys/rsa-probe/${v}/unwrapkey`]));
  });

  it.each([
    ["P-256", "ES256"],
    ["P-384", "ES384"],
    ["P-521", "ES512"],
  ] as const)("EC-HSM %s: sign/verify with %s", async (curve, alg) => {
    const name = `ec-probe-${curve.toLowerCase()}`;
    const result = await rotateAndVerify(hsm, name, () => emu.keyClient("probehsm").createEcKey(name, { hsm: true, curve }));
    expect(result).toMatchObject({ kind: "verified", checks: [`sign/verify ${alg}`] });
  });

  it.each([256, 128] as const)("oct-HSM %i-bit: one encrypt/decrypt round trip (AES-GCM)", async (keySize) => {
    const name = `aes-probe-${keySize}`;
    const result = await rotateAndVerify(hsm, name, () => emu.keyClient("probehsm").createOctKey(name, { hsm: true, keySize }));
    expect(result).toMatchObject({ kind: "verified", checks: ["encrypt/decrypt AES-GCM"], previous: { kind: "verified" } });
  });

  it("oct-HSM allowed only wrapKey/unwrapKey: wrap/unwrap (AES-KW)", async () => {
    const result = await rotateAndVerify(hsm, "aes-wrap-only", () => emu.keyClient("probehsm").createOctKey("aes-wrap-only", { hsm: true, keySize: 256, keyOps: ["wrapKey", "unwrapKey"] }));
    expect(result).toMatchObject({ kind: "verified", checks: ["wrap/unwrap AES-KW"] });
  });

  it("a previous version already disabled is skipped, not blamed; the new version still verifies", async () => {
    const keys = emu.keyClient("probehsm");
    const old = await keys.createEcKey("ec-prev-disabled", { hsm: true, curve: "P-256" });
    const rotated = await rotateKeyVersion({ instance: hsm, name: "ec-prev-disabled", fromVersion: old.properties.version ?? "", newVersionExpiry: "P90D" }, deps);
    await keys.updateKeyProperties("ec-prev-disabled", old.properties.version ?? "", { enabled: false });
    // No previousKey facts: the state is read from the service (one GET), as for a caller without the rotate's answer.
    const result = await verifyKeyVersion({ instance: hsm, name: "ec-prev-disabled", version: rotated.version, key: rotated.newKey, previousVersion: old.properties.version ?? "" }, deps);
    expect(result).toMatchObject({ kind: "verified", checks: ["sign/verify ES256"], previous: { kind: "skipped" } });
    expect(result.previous?.kind === "skipped" ? result.previous.reason : "").toMatch(/^KeyDisabled/);
  });

  it("key facts naming a key on another host are refused before any call", async () => {
    const keys = emu.keyClient("probehsm");
    const old = await keys.createEcKey("ec-foreign-id", { hsm: true, curve: "P-256" });
    const rotated = await rotateKeyVersion({ instance: hsm, name: "ec-foreign-id", fromVersion: old.properties.version ?? "", newVersionExpiry: "P90D" }, deps);
    const forged = { ...rotated.newKey, keyId: rotated.newKey.keyId.replace(emu.url("probehsm"), "https://127.0.0.2:9") };
    const failure = await verifyKeyVersion({ instance: hsm, name: "ec-foreign-id", version: rotated.version, key: forged }, deps).catch((e: unknown) => e as Error);
    expect((failure as Error).message).toMatch(/^\[BadParameter\] verifyKeyVersion: the key id in the input is not a key of "probehsm"/);
  });

  it("previous-version facts naming a key on another host are refused before any call", async () => {
    const keys = emu.keyClient("probehsm");
    const old = await keys.createEcKey("ec-foreign-prev", { hsm: true, curve: "P-256" });
    const rotated = await rotateKeyVersion({ instance: hsm, name: "ec-foreign-prev", fromVersion: old.properties.version ?? "", newVersionExpiry: "P90D" }, deps);
    if (rotated.previousKey === undefined) throw new Error("a rotation that rotated must return the previous version's facts");
    const forged = { ...rotated.previousKey, keyId: rotated.previousKey.keyId.replace(emu.url("probehsm"), "https://127.0.0.2:9") };
    const failure = await verifyKeyVersion({ instance: hsm, name: "ec-foreign-prev", version: rotated.version, key: rotated.newKey, previousVersion: rotated.previousVersion, previousKey: forged, roundTrips: "one" }, deps).catch((e: unknown) => e as Error);
    expect((failure as Error).message).toMatch(/^\[BadParameter\] verifyKeyVersion: the key id in the input is not a key of "probehsm" .*\(the previous version's\); refused without calling it/);
    // Refused before the new version's probe too: nothing was signed.
    expect(await requestsFor("probehsm", "ec-foreign-prev")).not.toContain("KeySign");
  });

  it("RSA allowed only encrypt/decrypt: encrypts locally, decrypts on the HSM", async () => {
    const result = await rotateAndVerify(hsm, "rsa-enc-only", () => emu.keyClient("probehsm").createRsaKey("rsa-enc-only", { hsm: true, keyOps: ["encrypt", "decrypt"] }));
    expect(result).toMatchObject({ kind: "verified", checks: ["encrypt/decrypt RSA-OAEP-256"] });
    const sent = await requestsFor("probehsm", "rsa-enc-only");
    expect(sent).toContain("KeyDecrypt");
    expect(sent).not.toContain("KeyEncrypt");
  });

  it("a published public key that does not match the HSM's private key fails as broken (local verify and local wrap)", async () => {
    const keys = emu.keyClient("probehsm");
    const real = await keys.createRsaKey("rsa-mismatch", { hsm: true });
    const other = await keys.createRsaKey("rsa-other", { hsm: true });
    // The facts name the real version but carry another key's public half, as a consumer would be handed it.
    const forged = { ...versionFactsOf(real), n: versionFactsOf(other).n ?? "", e: versionFactsOf(other).e ?? "" };
    const signFirst = await verifyKeyVersion({ instance: hsm, name: "rsa-mismatch", version: real.properties.version ?? "", key: forged }, deps);
    expect(signFirst).toMatchObject({ kind: "failed", checks: [] });
    expect(signFirst.kind === "failed" ? signFirst.reason : "").toMatch(/^sign\/verify RS256: the signature made by the service does not verify with the published public key/);

    const wrapOnly = await keys.createRsaKey("rsa-mismatch-wrap", { hsm: true, keyOps: ["wrapKey", "unwrapKey"] });
    const forgedWrap = { ...versionFactsOf(wrapOnly), n: versionFactsOf(other).n ?? "", e: versionFactsOf(other).e ?? "" };
    const unwrap = await verifyKeyVersion({ instance: hsm, name: "rsa-mismatch-wrap", version: wrapOnly.properties.version ?? "", key: forgedWrap }, deps);
    expect(unwrap.kind).toBe("failed");
    // The HSM cannot unwrap what another public key wrapped: an OAEP decoding error (400) or a differing result.
    expect(unwrap.kind === "failed" ? unwrap.reason : "").toMatch(/^wrap\/unwrap RSA-OAEP-256: /);
  });

  it.each([
    ["EC P-256", "req-ec", ["KeyGet", "KeyRotate", "KeySign", "KeySign"]],
    ["RSA 2048", "req-rsa", ["KeyGet", "KeyRotate", "KeySign", "KeyUnwrap"]],
    ["oct 256", "req-oct", ["KeyDecrypt", "KeyDecrypt", "KeyEncrypt", "KeyEncrypt", "KeyGet", "KeyRotate"]],
  ] as const)("%s: the first rotation sets the policy; every later one sends only the GET, the rotate and one round trip per version (audit log)", async (_label, name, expected) => {
    const keys = emu.keyClient("probehsm");
    const created =
      name === "req-ec" ? await keys.createEcKey(name, { hsm: true, curve: "P-256" }) : name === "req-rsa" ? await keys.createRsaKey(name, { hsm: true, keySize: 2048 }) : await keys.createOctKey(name, { hsm: true, keySize: 256 });
    // As the rotateKey orchestration runs it: the rotate step, then the verification with one round trip per version.
    const rotateAndVerifyOnce = async (fromVersion: string) => {
      const before = await requestsFor("probehsm", name);
      const rotated = await ensurePolicyAndRotate({ instance: hsm, name, fromVersion, newVersionExpiry: "P90D" }, deps);
      const verified = await verifyKeyVersion({ instance: hsm, name, version: rotated.version, key: rotated.newKey, previousVersion: rotated.previousVersion, ...(rotated.previousKey === undefined ? {} : { previousKey: rotated.previousKey }), roundTrips: "one" }, deps);
      expect(verified).toMatchObject({ kind: "verified", previous: { kind: "verified" } });
      const sent = [...(await requestsFor("probehsm", name))];
      for (const op of before) sent.splice(sent.indexOf(op), 1);
      return { rotated, sent: sent.sort() };
    };
    // A new HSM key has no rotation policy: Managed HSM refuses the rotate, the policy is set, the rotate repeated.
    const first = await rotateAndVerifyOnce(created.properties.version ?? "");
    expect(first.rotated).toMatchObject({ kind: "rotated", policy: "updated" });
    expect(first.sent).toEqual([...expected, "KeyRotate", "KeyRotationPolicyGet", "KeyRotationPolicySet"].sort());
    // From then on the rotate's answer shows the policy's expiry: no policy request, no GET the rotate answers,
    // no new challenge (the crypto clients share the HSM's pipeline).
    const second = await rotateAndVerifyOnce(first.rotated.version);
    expect(second.rotated).toMatchObject({ kind: "rotated", policy: "matched" });
    expect(second.sent).toEqual([...expected].sort());
    if (name !== "req-oct") expect(second.sent.length).toBeLessThanOrEqual(4);
  });

  it("only the operations the key_ops allow are probed; none allowed is a failure, not a pass", async () => {
    const keys = emu.keyClient("probehsm");
    const wrapOnly = await keys.createRsaKey("rsa-wrap-only", { hsm: true, keyOps: ["wrapKey", "unwrapKey"] });
    expect(await verifyKeyVersion({ instance: hsm, name: "rsa-wrap-only", version: wrapOnly.properties.version ?? "" }, deps)).toMatchObject({
      kind: "verified",
      checks: ["wrap/unwrap RSA-OAEP-256"],
    });
    const signOnly = await keys.createEcKey("ec-sign-only", { hsm: true, curve: "P-256", keyOps: ["sign"] });
    const failed = await verifyKeyVersion({ instance: hsm, name: "ec-sign-only", version: signOnly.properties.version ?? "" }, deps);
    expect(failed.kind).toBe("failed");
    expect(failed.kind === "failed" ? failed.reason : "").toMatch(/key_ops \[sign\] allow no round trip/);
  });

  it("a disabled new version fails verification; an expired previous version is skipped, not blamed", async () => {
    const keys = emu.keyClient("probehsm");
    const v1 = await keys.createRsaKey("rsa-disabled", { hsm: true });
    await keys.updateKeyProperties("rsa-disabled", v1.properties.version ?? "", { enabled: false });
    const failed = await verifyKeyVersion({ instance: hsm, name: "rsa-disabled", version: v1.properties.version ?? "" }, deps);
    expect(failed).toMatchObject({ kind: "failed", reason: "the version is disabled" });

    const now = Date.parse((await emu.control("probehsm", "GET", "/_emulator/clock")).body.now as string);
    const old = await keys.createRsaKey("rsa-expiring", { hsm: true, expiresOn: new Date(now + 1 * DAY) });
    const rotated = await rotateKeyVersion({ instance: hsm, name: "rsa-expiring", fromVersion: old.properties.version ?? "", newVersionExpiry: "P90D" }, deps);
    const r = await emu.control("probehsm", "POST", "/_emulator/clock", { shiftDays: 2 });
    expect(r.status).toBe(200);
    // The previous version's state is judged on the decision clock; here the emulator's, two days on.
    const later = { ...deps, now: () => new Date(now + 2 * DAY + 60_000) };
    const result = await verifyKeyVersion({ instance: hsm, name: "rsa-expiring", version: rotated.version, previousVersion: old.properties.version ?? "" }, later);
    expect(result.kind).toBe("verified");
    expect(result.previous).toMatchObject({ kind: "skipped" });
    expect(result.previous?.kind === "skipped" ? result.previous.reason : "").toMatch(/KeyExpired/);
  });
});

describe("probes on a vault", () => {
  it("RSA: sign/verify and wrap/unwrap", async () => {
    const result = await rotateAndVerify(vault, "rsa-v", () => emu.keyClient("probevault").createRsaKey("rsa-v"));
    expect(result).toMatchObject({ kind: "verified", checks: ["sign/verify RS256", "wrap/unwrap RSA-OAEP-256"], previous: { kind: "verified" } });
  });

  it("EC P-256K: sign/verify with ES256K", async () => {
    const result = await rotateAndVerify(vault, "ec-v", () => emu.keyClient("probevault").createEcKey("ec-v", { curve: "P-256K" }));
    expect(result).toMatchObject({ kind: "verified", checks: ["sign/verify ES256K"] });
  });
});
