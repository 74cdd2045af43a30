/**
 * The Managed HSM security domain lifecycle on the emulator, over real HTTPS with real keys: download to
 * custodian certificates (quorum rules), the activation state of a new HSM, recovery with an exchange key and a
 * quorum of private keys, and what that buys: an HSM recovered with the primary's domain restores the primary's
 * full backup; one recovered with another domain cannot. State survives an emulator restart.
 *
 * The client side is the product's (shared/hsm/securityDomainClient + securityDomainRestoreBlob).
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CryptographyClient, KeyClient } from "@azure/keyvault-keys";
import { RestError } from "@azure/core-rest-pipeline";
import { SecurityDomainClient, SecurityDomainOperationError } from "../../shared/hsm/securityDomainClient";
import { custodianCertificateJwk, prepareRestoreBlob } from "../../shared/hsm/securityDomainRestoreBlob";
import { KeyVaultBackupClient } from "../../shared/hsm/keyVaultBackupClient";
import { KeyVaultAccessControlClient } from "../../shared/hsm/keyVaultAccessControlClient";
import { KnownManagedHsmRoleDefinitionIds } from "../../shared/hsm/keyVaultAccessControlClientModels";
import type { SecurityDomainJsonWebKey } from "../../shared/hsm/securityDomainClientModels";
import { startAzurite, type AzuriteBlob } from "../support/azurite";
import { makeCustodians, type Custodian } from "../support/custodianCertificates";
import { ADMIN_OID, startTestEmulator, type TestEmulator } from "../support/emulator";
import { parseCli, UsageError } from "../../emulator/options";

const CONTAINER = "backups";
const POLL = { intervalInMs: 20 };
const CRYPTO_USER = "0c0c0c0c-0000-4000-8000-0000000000c3";

let azurite: AzuriteBlob;
let emu: TestEmulator;
let stateDir: string;
let custodians: Custodian[];
let strangers: Custodian[];
let certs: SecurityDomainJsonWebKey[];

const HSMS = [
  "primary",
  "other",
  { name: "dr", recovery: true },
  { name: "drwrong", recovery: true },
  { name: "idle", recovery: true },
];

async function start(): Promise<TestEmulator> {
  return startTestEmulator({ stateDir, keepStateDir: true, hsms: HSMS, blobConnectionString: azurite.connectionString, tickIntervalMs: 60_000 });
}

const sdClient = (hsm: string, oid = ADMIN_OID): SecurityDomainClient => new SecurityDomainClient(emu.url(hsm), emu.credential(oid), emu.clientOptions());
const backupClient = (hsm: string): KeyVaultBackupClient => new KeyVaultBackupClient(emu.url(hsm), emu.credential(), emu.clientOptions());

async function failure(promise: Promise<unknown>): Promise<Error & { statusCode?: number; code?: string }> {
  const e = await promise.then(
    () => undefined,
    (err: unknown) => err as Error,
  );
  expect(e, "expected a failure").toBeInstanceOf(Error);
  return e as Error & { statusCode?: number; code?: string };
}

async function backupOf(hsm: string): Promise<string> {
  const result = await (await backupClient(hsm).beginBackup(azurite.containerUrl(CONTAINER), { intervalInMs: 20 })).pollUntilDone();
  return result.folderUri as string;
}

/** Restores `folderUri` into `hsm` after the HSM's own backup (the service's restore rule). */
async function restoreInto(hsm: string, folderUri: string): Promise<void> {
  await backupOf(hsm);
  await (await backupClient(hsm).beginRestore(folderUri, { intervalInMs: 20 })).pollUntilDone();
}

async function info(hsm: string): Promise<{ activated: boolean; securityDomainId: string }> {
  return (await emu.control(hsm, "GET", "/_emulator/info")).body as { activated: boolean; securityDomainId: string };
}

beforeAll(async () => {
  azurite = await startAzurite();
  await azurite.blobServiceClient().createContainer(CONTAINER);
  stateDir = mkdtempSync(join(tmpdir(), "hsm-sd-"));
  emu = await start();
  custodians = await makeCustodians(3);
  strangers = await makeCustodians(3, "stranger");
  certs = custodians.map((c, i) => custodianCertificateJwk(c.certificatePem, `custodian-${i}`));
  await new KeyVaultAccessControlClient(emu.url("primary"), emu.credential(), emu.clientOptions()).createRoleAssignment("/", randomUUID(), KnownManagedHsmRoleDefinitionIds.CryptoUser, CRYPTO_USER);
}, 120_000);

afterAll(async () => {
  await emu?.close();
  await azurite?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe("--hsm NAME=PORT,recovery", () => {
  it("starts an HSM in recovery mode; cannot be combined with sharing a domain", () => {
    expect(parseCli(["--hsm", "primary=0", "--hsm", "dr=0,recovery"]).options.instances[1]).toEqual({ kind: "managedHsm", name: "dr", port: 0, recovery: true });
    for (const [argv, message] of [
      [["--hsm", "primary=0", "--hsm", "dr=0,recovery,security-domain=primary"], "cannot both start in recovery mode and share"],
      [["--hsm", "dr=0,recovery", "--hsm", "b=0,security-domain=dr"], "starts in recovery mode (its domain is not settled yet)"],
      [["--vault", "v=0,recovery"], "Unknown or invalid instance option"],
      [["--hsm", "dr=0,recovery=yes"], "Known: security-domain=OTHER, recovery,"],
    ] as const) {
      expect(() => parseCli([...argv]), argv.join(" ")).toThrow(UsageError);
      expect(() => parseCli([...argv])).toThrow(message);
    }
  });
});

describe("security domain download", () => {
  it("refuses bad certificate counts and quorums with 400 BadParameter, changing nothing", async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ certificates: certs.slice(0, 2), required: 2 }, /requires 3 to 10 certificates; 2 were given/],
      [{ certificates: Array.from({ length: 11 }, () => certs[0]), required: 2 }, /requires 3 to 10 certificates; 11 were given/],
      [{ certificates: certs, required: 1 }, /"required" \(the quorum\) must be a whole number from 2 to 10; got 1/],
      [{ certificates: certs, required: 11 }, /whole number from 2 to 10; got 11/],
      [{ certificates: certs, required: 4 }, /"required" \(4\) cannot exceed the number of certificates \(3\)/],
      [{ certificates: [certs[0], certs[1], certs[0]], required: 2 }, /Certificate 2 is given twice/],
      [{ certificates: [certs[0], certs[1], { ...certs[2], kty: "EC" }] }, /Certificate 2: kty must be "RSA"/],
      [{ certificates: [certs[0], certs[1], { ...certs[2], x5c: ["bm90IGEgY2VydA=="] }] }, /Certificate 2: x5c\[0\] is not a base64 DER X.509 certificate/],
      [{ certificates: [certs[0], certs[1], { ...certs[2], n: certs[0]!.n }] }, /Certificate 2: n\/e do not match/],
      [{ required: 2 }, /needs a body/],
    ];
    for (const [body, message] of cases) {
      const res = await emu.request("idle", "POST", "/securitydomain/download?api-version=7.5", { body });
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(res.body.error.code).toBe("BadParameter");
      expect(res.body.error.message).toMatch(message);
    }
    expect((await info("idle")).activated).toBe(false);
  });

  it("answers 202 with the domain as the service's file: one Shamir share per certificate, each wrapped to it", async () => {
    const res = await emu.request("primary", "POST", "/securitydomain/download?api-version=7.5", { body: { certificates: certs.map((c) => ({ value: c })), required: 2 } });
    expect(res.status).toBe(202);
    expect(res.headers["azure-asyncoperation"]).toBe(`${emu.url("primary")}/securitydomain/download/pending`);
    const file = JSON.parse(res.body.value as string);
    expect(file.version).toBe(2);
    expect(file.EncData.kdf).toBe("sp108_kdf");
    expect(file.EncData.data.map((d: { tag: string }) => d.tag)).toEqual(["hsm_backup"]);
    expect(file.SharedKeys).toMatchObject({ key_algorithm: "shamir_share", required: 2 });
    expect(file.SharedKeys.enc_shares.map((s: { x5t_256: string }) => s.x5t_256)).toEqual(certs.map((c) => c["x5t#S256"]));
    const header = JSON.parse(Buffer.from((file.SharedKeys.enc_shares[0].enc_key as string).split(".")[0]!, "base64url").toString());
    expect(header).toEqual({ alg: "RSA-OAEP-256", enc: "A256CBC-HS512", kid: "not used" });
    // No custodian can open the domain alone.
    await expect(prepareRestoreBlob(res.body.value as string, [custodians[0]!.privateKey], certs[0]!)).rejects.toThrow(/needs 2 custodian keys \(its quorum\); 1 given/);
    const status = await emu.request("primary", "GET", "/securitydomain/download/pending?api-version=7.5");
    expect(status.body).toEqual({ status: "Success", status_details: "The resource is active." });
  });

  it("needs the Managed HSM Administrator's securitydomain actions", async () => {
    const e = await failure(sdClient("primary", CRYPTO_USER).download({ certificates: certs, required: 2 }, POLL));
    expect(e).toBeInstanceOf(RestError);
    expect(e.statusCode).toBe(403);
    expect(e.message).toContain("securitydomain/download/action");
    // On a recovery HSM only the initial administrators hold roles (role assignments wait for activation).
    const key = await emu.request("idle", "GET", "/securitydomain/upload?api-version=7.5", { oid: CRYPTO_USER });
    expect(key.status).toBe(403);
    expect(key.body.error.message).toContain("securitydomain/transferkey/read");
    const upload = await emu.request("idle", "POST", "/securitydomain/upload?api-version=7.5", { oid: CRYPTO_USER, body: { value: "{}" } });
    expect(upload.status).toBe(403);
    expect(upload.body.error.message).toContain("securitydomain/upload/action");
    expect((await info("idle")).activated).toBe(false);
  });
});

describe("recovery mode and upload", () => {
  let primarySd: string;

  beforeAll(async () => {
    primarySd = (await sdClient("primary").download({ certificates: certs, required: 2 }, POLL)).value;
  });

  it("an HSM in recovery mode is not activated: every data-plane call gets 409 Conflict saying how to activate it", async () => {
    const e = await failure(emu.keyClient("dr").createRsaKey("early"));
    expect(e.statusCode).toBe(409);
    expect(e.message).toMatch(/not activated.*POST \/securitydomain\/download.*POST \/securitydomain\/upload/);
    expect((await emu.request("dr", "GET", "/providers/Microsoft.Authorization/roleAssignments?api-version=7.5")).status).toBe(409);
    expect((await info("dr")).activated).toBe(false);
  });

  it("serves the exchange key only in recovery mode, in the service's shape (transfer_key is a JSON string)", async () => {
    const res = await emu.request("dr", "GET", "/securitydomain/upload?api-version=7.5");
    expect(res.status).toBe(200);
    expect(res.body.key_format).toBe("jwk");
    expect(typeof res.body.transfer_key).toBe("string");
    expect(JSON.parse(res.body.transfer_key as string)).toMatchObject({ kty: "RSA", alg: "RSA-OAEP-256", key_ops: ["encrypt"], x5c: [expect.any(String)], "x5t#S256": expect.any(String) });
    const active = await emu.request("primary", "GET", "/securitydomain/upload?api-version=7.5");
    expect(active.status).toBe(409);
    expect(active.body.error.message).toMatch(/already activated: an exchange key is only served to an HSM in recovery mode/);
  });

  it("refuses a downloaded file uploaded as is (400) and fails uploads wrapped to another HSM or tampered with, leaving the HSM inactive", async () => {
    const raw = await emu.request("dr", "POST", "/securitydomain/upload?api-version=7.5", { body: { value: primarySd } });
    expect(raw.status).toBe(400);
    expect(raw.body.error).toMatchObject({ code: "BadParameter", message: expect.stringMatching(/downloaded security domain file, not a restore blob/) });

    const drwrongKey = (await sdClient("drwrong").getTransferKey()).transferKey;
    const toOther = await prepareRestoreBlob(primarySd, [custodians[0]!.privateKey, custodians[1]!.privateKey], drwrongKey);
    const wrongTarget = await failure(sdClient("dr").upload({ value: toOther.value }, POLL));
    expect(wrongTarget).toBeInstanceOf(SecurityDomainOperationError);
    expect(wrongTarget.message).toMatch(/wrapped to another exchange key.*Fetch this HSM's exchange key/);

    const drKey = (await sdClient("dr").getTransferKey()).transferKey;
    const good = JSON.parse((await prepareRestoreBlob(primarySd, [custodians[0]!.privateKey, custodians[2]!.privateKey], drKey)).value);
    const jwe = Buffer.from(good.EncData.data[0].compact_jwe as string, "base64url").toString().split(".");
    const ct = Buffer.from(jwe[3]!, "base64url");
    ct[0] = ct[0]! ^ 1;
    jwe[3] = ct.toString("base64url");
    good.EncData.data[0].compact_jwe = Buffer.from(jwe.join(".")).toString("base64url");
    const tampered = await failure(sdClient("dr").upload({ value: JSON.stringify(good) }, POLL));
    expect(tampered.message).toMatch(/failed its integrity check/);
    expect(await sdClient("dr").getUploadStatus()).toMatchObject({ status: "Failed", statusDetails: expect.stringMatching(/integrity check/) });
    expect((await info("dr")).activated).toBe(false);
  });

  it("keys of another domain's custodians open no share (client side, before any upload)", async () => {
    const drKey = (await sdClient("dr").getTransferKey()).transferKey;
    await expect(prepareRestoreBlob(primarySd, [strangers[0]!.privateKey, strangers[1]!.privateKey], drKey)).rejects.toThrow(/Custodian key #1 opens none of the file's remaining shares/);
    await expect(prepareRestoreBlob(primarySd, [custodians[1]!.privateKey, custodians[1]!.privateKey], drKey)).rejects.toThrow(/Custodian key #2 opens none/);
  });

  it("an upload with a quorum of the primary's custodian keys activates the HSM with the primary's domain: the primary's full backup restores into it", async () => {
    const primaryKeys = new KeyClient(emu.url("primary"), emu.credential(), emu.clientOptions());
    const key = await primaryKeys.createRsaKey("dr-proof", { keySize: 2048 });
    const folder = await backupOf("primary");

    const drKey = (await sdClient("dr").getTransferKey()).transferKey;
    const blob = await prepareRestoreBlob(primarySd, [custodians[2]!.privateKey, custodians[0]!.privateKey], drKey);
    expect(blob).toMatchObject({ sharesUsed: 2, required: 2 });
    expect(await sdClient("dr").upload({ value: blob.value }, POLL)).toEqual({ status: "Success", statusDetails: "The resource is active." });
    expect(await info("dr")).toMatchObject({ activated: true, securityDomainId: (await info("primary")).securityDomainId });

    await restoreInto("dr", folder);
    const restored = await new KeyClient(emu.url("dr"), emu.credential(), emu.clientOptions()).getKey("dr-proof");
    expect(restored.key?.n).toEqual(key.key?.n);
    // Crypto round trip across HSMs: signed on the primary, verified on the recovered HSM.
    const digest = Buffer.alloc(32, 7);
    const signed = await new CryptographyClient(key, emu.credential(), emu.clientOptions()).sign("RS256", digest);
    const verified = await new CryptographyClient(restored, emu.credential(), emu.clientOptions()).verify("RS256", digest, signed.result);
    expect(verified.result).toBe(true);

    const again = await emu.request("dr", "POST", "/securitydomain/upload?api-version=7.5", { body: { value: blob.value } });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toMatch(/already activated: a security domain can only be uploaded to a new HSM in recovery mode/);
    const ops = (await emu.control("dr", "GET", "/_emulator/audit?operationName=SecurityDomainUpload")).body.value as Array<{ resultSignature: string }>;
    expect(ops.map((o) => o.resultSignature)).toEqual(expect.arrayContaining(["Accepted", "Failed", "Success", "Conflict", "BadRequest"]));
  });

  it("an HSM recovered with another HSM's domain activates, but cannot restore the primary's backup (foreign security domain)", async () => {
    const otherSd = (await sdClient("other").download({ certificates: certs, required: 3 }, POLL)).value;
    const drwrongKey = (await sdClient("drwrong").getTransferKey()).transferKey;
    const blob = await prepareRestoreBlob(otherSd, custodians.map((c) => c.privateKey), drwrongKey);
    await sdClient("drwrong").upload({ value: blob.value }, POLL);
    expect(await info("drwrong")).toMatchObject({ activated: true, securityDomainId: (await info("other")).securityDomainId });
    const folder = await backupOf("primary");
    const e = await failure(restoreInto("drwrong", folder));
    expect(e.message).toMatch(/different security domain/);
  });

  it("activation, the recovered domain and the operations' status survive a restart", async () => {
    await emu.close();
    emu = await start();
    expect(await info("dr")).toMatchObject({ activated: true, securityDomainId: (await info("primary")).securityDomainId });
    expect((await info("idle")).activated).toBe(false);
    expect(await sdClient("dr").getUploadStatus()).toEqual({ status: "Success", statusDetails: "The resource is active." });
    // Keys restored before the restart still verify the primary's signatures.
    const digest = Buffer.alloc(32, 9);
    const primaryKey = await emu.keyClient("primary").getKey("dr-proof");
    const signed = await new CryptographyClient(primaryKey, emu.credential(), emu.clientOptions()).sign("RS256", digest);
    const drKey = await emu.keyClient("dr").getKey("dr-proof");
    expect((await new CryptographyClient(drKey, emu.credential(), emu.clientOptions()).verify("RS256", digest, signed.result)).result).toBe(true);
    // The idle recovery HSM can still be activated by download, keeping its own domain.
    const before = (await info("idle")).securityDomainId;
    await sdClient("idle").download({ certificates: certs, required: 2 }, POLL);
    expect(await info("idle")).toMatchObject({ activated: true, securityDomainId: before });
    await emu.keyClient("idle").createRsaKey("now-allowed");
  });
});
