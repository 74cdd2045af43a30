/**
 * The evidence signer against the emulator with the real @azure/keyvault-keys clients: an identity holding only
 * "HSM Lifecycle Evidence Signer" at /keys/evidence-signing seals (ES256 in the HSM, DER out, verified with the PEM
 * as openssl does) and can neither create the key nor sign with another key; without the key it names who must
 * create it; a Crypto Officer (createIfMissing) creates it on first use. p1363ToDer keeps DER's integer rules.
 */
import { createHash, generateKeyPairSync, sign, verify } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CryptographyClient } from "@azure/keyvault-keys";
import { EVIDENCE_KEY_NAME, hsmEvidenceSigner, p1363ToDer, sealVerifies } from "../../shared/evidence/evidenceSigner";
import { KeyVaultAccessControlClient } from "../../shared/hsm/keyVaultAccessControlClient";
import { permissionsOf } from "../../shared/rbac/rbacDiff";
import { HSM_EVIDENCE_SIGNER_ROLE, roleDefinitionIdOf } from "../../shared/rbac/lifecycleRoles";
import { startTestEmulator, type TestEmulator } from "../support/emulator";

const SIGNER = "5ea1e000-0000-4000-8000-00000000e5ed";
let emu: TestEmulator;

const signerAs = (oid: string | undefined, createIfMissing = false) => {
  const keys = emu.keyClient("hsm1", oid);
  return hsmEvidenceSigner(keys, (k) => new CryptographyClient(k, emu.credential(oid), emu.clientOptions()), { name: "hsm1", url: emu.url("hsm1") }, { createIfMissing });
};

beforeAll(async () => {
  emu = await startTestEmulator({ hsms: ["hsm1"] });
  const rbac = new KeyVaultAccessControlClient(emu.url("hsm1"), emu.credential(), emu.clientOptions());
  const r = HSM_EVIDENCE_SIGNER_ROLE;
  await rbac.setRoleDefinition("/", { roleDefinitionName: r.name, roleName: r.roleName, description: r.description, permissions: permissionsOf(r), assignableScopes: ["/"] });
  await rbac.createRoleAssignment(`/keys/${EVIDENCE_KEY_NAME}`, "3c9e1a52-0000-4000-8000-0000000000e5", roleDefinitionIdOf(r), SIGNER);
  await emu.keyClient("hsm1").createEcKey("other-key", { curve: "P-256" });
}, 60_000);

afterAll(async () => {
  await emu?.close();
});

describe("hsmEvidenceSigner", () => {
  it("without the key, the signer-only identity is told who must create it, and cannot create it itself", async () => {
    await expect(signerAs(SIGNER).seal(Buffer.from("x"))).rejects.toThrow(/\[NotFound\][\s\S]*Crypto Officer creates it once/);
    await expect(signerAs(SIGNER, true).seal(Buffer.from("x"))).rejects.toThrow(/creating the signing key/);
  });

  it("a Crypto Officer creates it on first use; the signer-only identity then seals, and the seal verifies as openssl would", async () => {
    const first = await signerAs(undefined, true).publicKey();
    expect(first.keyId).toContain(`/keys/${EVIDENCE_KEY_NAME}/`);
    const bytes = Buffer.from(JSON.stringify({ evidence: true }));
    const seal = await signerAs(SIGNER).seal(bytes);
    expect(seal.publicKeyPem).toBe(first.publicKeyPem);
    expect(seal.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));
    expect(seal.signatureDer[0]).toBe(0x30);
    expect(verify("sha256", bytes, seal.publicKeyPem, seal.signatureDer)).toBe(true);
    expect(sealVerifies(bytes, seal.signatureDer, seal.publicKeyPem)).toBe(true);
    const changed = Buffer.from(bytes);
    changed[3] = changed[3]! ^ 1;
    expect(sealVerifies(changed, seal.signatureDer, seal.publicKeyPem)).toBe(false);
  });

  it("the signer-only identity can sign with no other key", async () => {
    const other = await emu.keyClient("hsm1").getKey("other-key");
    const crypto = new CryptographyClient(other, emu.credential(SIGNER), emu.clientOptions());
    await expect(crypto.sign("ES256", createHash("sha256").update("x").digest())).rejects.toMatchObject({ statusCode: 403 });
  });
});

describe("p1363ToDer", () => {
  it("encodes r‖s as node/OpenSSL DER, with the sign byte and without leading zeros", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    for (let i = 0; i < 64; i++) {
      const data = Buffer.from(`message ${i}`);
      const raw = sign("sha256", data, { key: privateKey, dsaEncoding: "ieee-p1363" });
      const der = p1363ToDer(raw);
      expect(verify("sha256", data, publicKey, der)).toBe(true);
    }
    expect(p1363ToDer(Buffer.concat([Buffer.alloc(31), Buffer.from([1]), Buffer.from([0x80]), Buffer.alloc(31, 1)])).toString("hex")).toBe(`3026020101022100${"80"}${"01".repeat(31)}`);
    expect(() => p1363ToDer(Buffer.alloc(63))).toThrow(/r‖s/);
  });
});
