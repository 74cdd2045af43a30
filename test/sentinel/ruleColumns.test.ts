// Sentinel rules in sentinel/rules/ against the emulator's AuditEvent rows: each rule's scenario is played with the
// real SDK (or the raw REST call the SDK would make), the rows are read back as AzureDiagnostics rows, and the rule's
// KQL is checked against them (columns it reads exist; its filters keep the scenario's rows and only those).
// Also: the emulator's storage/Event Hubs record matches Microsoft's Managed HSM logging sample field for field.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { KeyClient } from "@azure/keyvault-keys";
import { EmulatorCredential } from "../../emulator/index";
import { KeyVaultBackupClient } from "../../shared/hsm/keyVaultBackupClient";
import { SecurityDomainClient } from "../../shared/hsm/securityDomainClient";
import { custodianCertificateJwk } from "../../shared/hsm/securityDomainRestoreBlob";
import { startAzurite, type AzuriteBlob } from "../support/azurite";
import { makeCustodians } from "../support/custodianCertificates";
import { ADMIN_OID, clientOptionsFor, startTestEmulator, type TestEmulator } from "../support/emulator";
import { checkRule, type Row } from "./ruleChecks";

const RULES = join(__dirname, "../../sentinel/rules");
const USER_OID = "00000000-bbbb-4000-8000-000000000077";
const USER_APPID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
const USER_UPN = "analyst@contoso.example";
const TI_LISTED_IP = "203.0.113.7";

const CONTAINER = "backups";

let emu: TestEmulator;
let azurite: AzuriteBlob;
let userKeys: KeyClient;

beforeAll(async () => {
  azurite = await startAzurite();
  await azurite.blobServiceClient().createContainer(CONTAINER);
  emu = await startTestEmulator({ hsms: ["primary"], blobConnectionString: azurite.connectionString });
  // A signed-in user (oid, appid of the client application, upn), holding Crypto User and Crypto Officer at "/".
  for (const [n, role] of [["1", "21dbd100-6940-42c2-9190-5d6cb909625b"], ["2", "515eb02d-2335-4d2d-92f2-b1cbdf9c3778"]] as const) {
    const res = await emu.request("primary", "PUT", `///providers/Microsoft.Authorization/roleAssignments/user-${n}?api-version=7.6`, {
      body: { properties: { roleDefinitionId: `Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/${role}`, principalId: USER_OID, scope: "/" } },
    });
    expect(res.status).toBe(201);
  }
  const credential = new EmulatorCredential(emu.emulator.tokenSecretFile, USER_OID, { claims: { appid: USER_APPID, upn: USER_UPN } });
  userKeys = new KeyClient(emu.url("primary"), credential, clientOptionsFor(emu.ca, { retryOptions: { maxRetries: 2, retryDelayInMs: 50 } }));
});
afterAll(async () => {
  await emu?.close();
  await azurite?.stop();
});

async function rows(since: string, format = "AzureDiagnostics"): Promise<Row[]> {
  const res = await emu.control("primary", "GET", `/_emulator/audit?format=${format}&since=${encodeURIComponent(since)}`);
  expect(res.status).toBe(200);
  return res.body.value as Row[];
}

function expectColumnsPresent(result: ReturnType<typeof checkRule>, table: Row[]): void {
  expect(result.unknownColumns).toEqual([]);
  const missing = result.ifExistsColumns.filter((c) => !table.some((r) => c in r));
  expect(missing).toEqual([]);
}

describe("Key Vault rules adapted to MANAGEDHSMS", () => {
  it("Sensitive operations: a KeyDelete by the user is kept, with the user's upn and object id", async () => {
    const since = new Date().toISOString();
    await userKeys.createRsaKey("to-delete");
    await (await userKeys.beginDeleteKey("to-delete", { intervalInMs: 10 })).pollUntilDone();
    const table = await rows(since);
    const result = checkRule(join(RULES, "ManagedHsmSensitiveOperations.yaml"), { AzureDiagnostics: table });
    expectColumnsPresent(result, table);
    expect(result.unevaluated).toEqual([]);
    expect(result.kept.map((r) => r["OperationName"])).toEqual(["KeyDelete"]);
    expect(result.kept[0]).toMatchObject({
      ResourceType: "MANAGEDHSMS",
      Resource: "PRIMARY",
      identity_claim_upn_s: USER_UPN,
      identity_claim_http_schemas_microsoft_com_identity_claims_objectidentifier_g: USER_OID,
      CallerIPAddress: "127.0.0.1",
    });
    expect(result.kept[0]!["clientInfo_s"]).toMatch(/^azsdk-js-keyvault-keys\//);
  });

  it("Mass key retrieval: 26 KeyGets by one caller pass the threshold of 25", async () => {
    const since = new Date().toISOString();
    await userKeys.createRsaKey("read-often");
    for (let i = 0; i < 26; i++) await userKeys.getKey("read-often");
    const table = await rows(since);
    const result = checkRule(join(RULES, "ManagedHsmMassKeyRetrieval.yaml"), { AzureDiagnostics: table });
    expectColumnsPresent(result, table);
    // The per-caller count against the threshold is a subquery: counted here below instead.
    expect(result.unevaluated.map((f) => f.split("(")[0])).toEqual(["CallerObjectId in "]);
    const threshold = result.constants["EventCountThreshold"] as number;
    expect(threshold).toBe(25);
    const byCaller = new Map<string, number>();
    for (const r of result.kept.filter((r) => r["ResultType"] === "Success")) byCaller.set(String(r["identity_claim_oid_g"]), (byCaller.get(String(r["identity_claim_oid_g"])) ?? 0) + 1);
    expect(byCaller.get(USER_OID)).toBe(26);
    expect([...byCaller].filter(([, n]) => n > threshold).map(([oid]) => oid)).toEqual([USER_OID]);
    expect(result.kept.every((r) => r["id_s"] !== "" && r["identity_claim_appid_g"] === USER_APPID)).toBe(true);
  });

  it("TimeSeries anomaly: every column it reads exists on KeyGet rows; its static filters keep them", async () => {
    const since = new Date().toISOString();
    await userKeys.getKey("read-often");
    const table = await rows(since);
    const result = checkRule(join(RULES, "ManagedHsmAccessTimeSeriesAnomaly.yaml"), { AzureDiagnostics: table });
    expectColumnsPresent(result, table);
    // The time windows and the anomaly join need a workspace; the value filters are evaluated here.
    expect(result.unevaluated.every((f) => /TimeGenerated|DateHour/.test(f))).toBe(true);
    expect(result.kept.map((r) => r["OperationName"])).toEqual(["KeyGet"]);
  });

  it("TI map IP: a call from a listed public address has the columns the join and the projection read", async () => {
    expect((await emu.control("primary", "PUT", "/_emulator/caller-ip", { loopbackCallerIp: TI_LISTED_IP })).status).toBe(200);
    const since = new Date().toISOString();
    try {
      await userKeys.getKey("read-often");
    } finally {
      expect((await emu.control("primary", "DELETE", "/_emulator/caller-ip")).status).toBe(204);
    }
    const table = await rows(since);
    const now = Date.now();
    const indicators: Row[] = [
      {
        TimeGenerated: new Date(now - 3_600_000).toISOString(),
        IndicatorId: "indicator-1",
        NetworkIP: TI_LISTED_IP,
        EmailSourceIpAddress: "",
        NetworkDestinationIP: "",
        NetworkSourceIP: "",
        ExpirationDateTime: new Date(now + 86_400_000).toISOString(),
        Description: "test indicator",
        ActivityGroupNames: "",
        ThreatType: "C2",
        Url: "",
        ConfidenceScore: 80,
      },
    ];
    const result = checkRule(join(RULES, "ManagedHsmThreatIntelIpMatch.yaml"), { AzureDiagnostics: table, ThreatIntelligenceIndicator: indicators });
    expectColumnsPresent(result, table);
    expect(result.kept.map((r) => r["CallerIPAddress"])).toEqual([TI_LISTED_IP]);
    // The join key: the indicator's address equals the row's CallerIPAddress (the rule drops private and 127.* ones).
    expect(indicators.map((i) => i["NetworkIP"])).toContain(result.kept[0]!["CallerIPAddress"]);
  });
});

describe("rules only this product offers", () => {
  it("Key purge: a KeyPurge is kept", async () => {
    const since = new Date().toISOString();
    await userKeys.createRsaKey("to-purge");
    await (await userKeys.beginDeleteKey("to-purge", { intervalInMs: 10 })).pollUntilDone();
    await userKeys.purgeDeletedKey("to-purge");
    const table = await rows(since);
    const result = checkRule(join(RULES, "ManagedHsmKeyPurge.yaml"), { AzureDiagnostics: table });
    expectColumnsPresent(result, table);
    expect(result.unevaluated).toEqual([]);
    expect(result.kept.map((r) => [r["OperationName"], r["identity_claim_upn_s"], r["id_s"]])).toEqual([["KeyPurge", USER_UPN, `${emu.url("primary")}/deletedkeys/to-purge`]]);
  });

  it("Role change: a role assignment is kept unless an administrator made it, or the steward on a drill target", async () => {
    const since = new Date().toISOString();
    const res = await emu.request("primary", "PUT", "///providers/Microsoft.Authorization/roleAssignments/restore-grant?api-version=7.6", {
      body: { properties: { roleDefinitionId: "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/6efe6056-5259-49d2-8b3d-d3d73544b20b", principalId: USER_OID, scope: "/" } },
    });
    expect(res.status).toBe(201);
    const table = await rows(since);
    const result = checkRule(join(RULES, "ManagedHsmRoleChange.yaml"), { AzureDiagnostics: table });
    expectColumnsPresent(result, table);
    expect(result.unevaluated).toEqual([]);
    expect(result.kept.map((r) => [r["OperationName"], r["identity_claim_oid_g"]])).toEqual([["RoleAssignmentCreate", ADMIN_OID]]);
    const file = join(RULES, "ManagedHsmRoleChange.yaml");
    // An administrator who manages roles: not kept.
    expect(checkRule(file, { AzureDiagnostics: table }, { constants: { RoleManagerIds: [ADMIN_OID] } }).kept).toEqual([]);
    // The DR steward on a drill target: expected; the steward on this HSM when it is not a drill target: kept.
    expect(checkRule(file, { AzureDiagnostics: table }, { constants: { StewardIds: [ADMIN_OID], DrillTargetHsms: ["PRIMARY"] } }).kept).toEqual([]);
    expect(checkRule(file, { AzureDiagnostics: table }, { constants: { StewardIds: [ADMIN_OID], DrillTargetHsms: ["DR"] } }).kept.length).toBe(1);
  });

  it("Restore outside a drill: a selective key restore into the primary by the admin is kept (request and completion)", async () => {
    const backups = new KeyVaultBackupClient(emu.url("primary"), emu.credential(), emu.clientOptions());
    await userKeys.createRsaKey("restored");
    const { folderUri } = await (await backups.beginBackup(azurite.containerUrl(CONTAINER), { intervalInMs: 20 })).pollUntilDone();
    await (await userKeys.beginDeleteKey("restored", { intervalInMs: 10 })).pollUntilDone();
    await userKeys.purgeDeletedKey("restored");
    // Job times are whole seconds (as on the wire): read from the start of the previous second.
    const since = new Date(Math.floor(Date.now() / 1000) * 1000 - 1000).toISOString();
    await (await backups.beginSelectiveKeyRestore("restored", folderUri as string, { intervalInMs: 20 })).pollUntilDone();
    const table = (await rows(since)).filter((r) => String(r["TimeGenerated"]) >= since);
    const file = join(RULES, "ManagedHsmRestoreOutsideDrill.yaml");
    const result = checkRule(file, { AzureDiagnostics: table });
    expectColumnsPresent(result, table);
    expect(result.unevaluated).toEqual([]);
    expect(result.kept.map((r) => [r["OperationName"], r["ResultSignature"], r["identity_claim_oid_g"], r["CallerIPAddress"]])).toEqual([
      ["SelectiveKeyRestore", "Accepted", ADMIN_OID, "127.0.0.1"],
      ["SelectiveKeyRestore", "Succeeded", ADMIN_OID, "127.0.0.1"],
    ]);
    // The completion record carries the job id as its correlation id (its status URL names the job).
    expect(String(result.kept[1]!["requestUri_s"])).toContain(`/restore/${String(result.kept[1]!["CorrelationId"])}/pending`);
    // The same restore by the drill identity into a drill target is what drills do: not kept.
    const asDrill = checkRule(file, { AzureDiagnostics: table }, { constants: { DrillPrincipalIds: [ADMIN_OID], DrillTargetHsms: ["PRIMARY"] } });
    expect(asDrill.kept).toEqual([]);
    // By the drill identity but into another HSM (a primary): kept.
    const intoPrimary = checkRule(file, { AzureDiagnostics: table }, { constants: { DrillPrincipalIds: [ADMIN_OID], DrillTargetHsms: ["DR"] } });
    expect(intoPrimary.kept.length).toBe(2);
  });

  it("Security domain transfer: a download (request and completion) is kept with the caller", async () => {
    const custodians = await makeCustodians(3);
    const certificates = custodians.map((c, i) => custodianCertificateJwk(c.certificatePem, `custodian-${i}`));
    const since = new Date().toISOString();
    await new SecurityDomainClient(emu.url("primary"), emu.credential(), emu.clientOptions()).download({ certificates, required: 2 });
    const table = await rows(since);
    const result = checkRule(join(RULES, "ManagedHsmSecurityDomainTransfer.yaml"), { AzureDiagnostics: table });
    expectColumnsPresent(result, table);
    expect(result.unevaluated).toEqual([]);
    expect(result.kept.map((r) => [r["OperationName"], r["ResultSignature"], r["identity_claim_oid_g"]])).toEqual([
      // The operation completes before the 202 goes out, so its completion record comes first.
      ["SecurityDomainDownload", "Success", ADMIN_OID],
      ["SecurityDomainDownload", "Accepted", ADMIN_OID],
    ]);
    // Status polls are not transfers.
    expect(table.some((r) => r["OperationName"] === "SecurityDomainDownloadStatus")).toBe(true);
  });
});
