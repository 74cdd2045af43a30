// The audit log as Managed HSM writes it: the caller's claims and User-Agent, refusals named by operation, job
// completion records tied to the request that started them, and the shapes Azure Monitor delivers (storage/Event Hubs
// record compared field for field with Microsoft's logging sample, AzureDiagnostics and AZKVAuditLogs rows).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { KeyClient } from "@azure/keyvault-keys";
import { EmulatorCredential } from "../../emulator/index";
import { ADMIN_OID, clientOptionsFor, startTestEmulator, type TestEmulator } from "../support/emulator";

type Row = Record<string, unknown>;

const USER_OID = "00000000-bbbb-4000-8000-000000000078";
const USER_APPID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
const USER_UPN = "operator@contoso.example";

let emu: TestEmulator;
let userKeys: KeyClient;

beforeAll(async () => {
  emu = await startTestEmulator({ hsms: ["primary"], vaults: ["app"] });
  const res = await emu.request("primary", "PUT", "///providers/Microsoft.Authorization/roleAssignments/user-crypto?api-version=7.6", {
    body: { properties: { roleDefinitionId: "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/21dbd100-6940-42c2-9190-5d6cb909625b", principalId: USER_OID, scope: "/" } },
  });
  expect(res.status).toBe(201);
  const credential = new EmulatorCredential(emu.emulator.tokenSecretFile, USER_OID, { claims: { appid: USER_APPID, upn: USER_UPN } });
  userKeys = new KeyClient(emu.url("primary"), credential, clientOptionsFor(emu.ca));
});
afterAll(async () => {
  await emu?.close();
});

async function rows(instance: string, since: string, format: string): Promise<Row[]> {
  const res = await emu.control(instance, "GET", `/_emulator/audit?format=${format}&since=${encodeURIComponent(since)}`);
  expect(res.status).toBe(200);
  return res.body.value as Row[];
}

describe("AuditEvent records", () => {
  it("the storage/Event Hubs record has the fields of Microsoft's logging sample, with the same types and nesting", async () => {
    const fixture = JSON.parse(readFileSync(join(__dirname, "fixtures/managedHsmLoggingSample.json"), "utf8")) as { record: Record<string, unknown>; fieldTableAlsoNames: string[] };
    const since = new Date().toISOString();
    await userKeys.createEcKey("sample-shape", { curve: "P-256" });
    const record = (await rows("primary", since, "resourceLog")).find((r) => r["operationName"] === "KeyCreate")!;
    const sample = fixture.record;
    const extras = Object.keys(record).filter((k) => !(k in sample));
    // resultSignature/resultDescription: in the page's field table; id: the key the request named.
    expect(extras.every((k) => [...fixture.fieldTableAlsoNames, "id"].includes(k))).toBe(true);
    for (const [field, value] of Object.entries(sample)) {
      expect(field in record, field).toBe(true);
      expect(typeof record[field], field).toBe(typeof value);
    }
    expect(Object.keys(record["properties"] as object).sort()).toEqual(Object.keys(sample["properties"] as object).sort());
    const claim = (JSON.parse(record["identity"] as string) as { claim: Record<string, unknown> }).claim;
    const sampleClaim = (JSON.parse(sample["identity"] as string) as { claim: Record<string, unknown> }).claim;
    for (const name of Object.keys(sampleClaim)) expect(name in claim, name).toBe(true);
    expect(claim).toMatchObject({ appid: USER_APPID, http_schemas_microsoft_com_identity: { claims: { objectidentifier: USER_OID } }, http_schemas_xmlsoap_org_ws_2005_05_identity: { claims: { upn: USER_UPN } } });
    expect(record).toMatchObject({ resourceType: "managedHSMs", resourceProvider: "MICROSOFT.KEYVAULT", category: "AuditEvent", resultType: "Success", httpStatusCode: 200, resultSignature: "OK" });
    expect(record["clientInfo"]).toMatch(/^azsdk-js-keyvault-keys\//);
  });

  it("names a request refused for a missing api-version by its operation, with the caller's identity", async () => {
    const since = new Date().toISOString();
    const res = await emu.request("primary", "GET", "/keys/sample-shape", { oid: USER_OID, headers: { "user-agent": "raw-client/1.0" } });
    expect(res.status).toBe(400);
    const [row] = await rows("primary", since, "AzureDiagnostics");
    expect(row).toMatchObject({ OperationName: "KeyGet", ResultType: "Failure", ResultSignature: "BadRequest", httpStatusCode_d: 400, identity_claim_oid_g: USER_OID, clientInfo_s: "raw-client/1.0" });
  });

  it("a job's completion record names the address, caller and User-Agent of the request that started it, and the job id", async () => {
    // Job times are whole seconds (as on the wire): read from the start of the previous second.
    const since = new Date(Math.floor(Date.now() / 1000) * 1000 - 1000).toISOString();
    // A pre-backup check against storage nobody listens on: the job starts, then fails.
    const started = await emu.request("primary", "POST", "/prebackup?api-version=7.6", {
      body: { storageResourceUri: "http://127.0.0.1:9/nobody/container", token: "sv=2024-01-01&se=2099-01-01T00%3A00%3A00Z&sr=c&sp=rwl&sig=x" },
      headers: { "x-ms-client-request-id": "job-correlation-1", "user-agent": "raw-client/1.0" },
    });
    expect(started.status).toBe(202);
    let end: Row | undefined;
    for (let i = 0; i < 400 && end === undefined; i++) {
      end = (await rows("primary", since, "AzureDiagnostics")).find((r) => r["OperationName"] === "PreBackup" && r["ResultSignature"] !== "Accepted");
      if (end === undefined) await new Promise((r) => setTimeout(r, 25));
    }
    expect(end).toMatchObject({ CallerIPAddress: "127.0.0.1", CorrelationId: started.body.jobId, identity_claim_oid_g: ADMIN_OID, clientInfo_s: "raw-client/1.0", ResultSignature: "Failed" });
    expect(end!["requestUri_s"]).toBe(`${emu.url("primary")}/backup/${String(started.body.jobId)}/pending`);
  });

  it("serves AZKVAuditLogs rows (typed columns, claims as a dynamic object) and marks vault rows VAULTS", async () => {
    const since = new Date().toISOString();
    await emu.keyClient("app").createRsaKey("vault-key");
    // The SDK's first, bodiless request is answered with the challenge (logged as Authentication, 401).
    const azkvRows = await rows("app", since, "AZKVAuditLogs");
    expect(azkvRows.map((r) => [r["OperationName"], r["HttpStatusCode"]])).toEqual([["Authentication", 401], ["KeyCreate", 200]]);
    const azkv = azkvRows[1];
    expect(azkv).toMatchObject({
      Type: "AZKVAuditLogs",
      Category: "AuditEvent",
      OperationName: "KeyCreate",
      ResultType: "Success",
      ResultSignature: "OK",
      HttpStatusCode: 200,
      CallerIpAddress: "127.0.0.1",
      Identity: { claim: { oid: ADMIN_OID, "http://schemas.microsoft.com/identity/claims/objectidentifier": ADMIN_OID } },
    });
    expect(azkv!["_ResourceId"]).toMatch(/^\/subscriptions\/.*\/providers\/microsoft\.keyvault\/vaults\/app$/);
    expect(azkv!["Id"]).toMatch(new RegExp(`^${emu.url("app")}/keys/vault-key/[0-9a-f]{32}$`));
    const diag = (await rows("app", since, "AzureDiagnostics"))[1];
    expect(diag).toMatchObject({ ResourceProvider: "MICROSOFT.KEYVAULT", ResourceType: "VAULTS", Resource: "APP", OperationName: "KeyCreate", Type: "AzureDiagnostics" });
    // No claim the token lacked is invented: the column exists for the table, empty on this row.
    expect(diag).toMatchObject({ identity_claim_upn_s: "", identity_claim_appid_g: "" });
  });

  it("logs loopback callers with the address set at /_emulator/caller-ip, refuses addresses that are not IPs, and forgets it on reset", async () => {
    const bad = await emu.control("primary", "PUT", "/_emulator/caller-ip", { loopbackCallerIp: "not-an-ip" });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain("loopbackCallerIp");
    expect((await emu.control("primary", "GET", "/_emulator/caller-ip")).body).toEqual({ loopbackCallerIp: null });
    expect((await emu.control("primary", "PUT", "/_emulator/caller-ip", { loopbackCallerIp: "2001:db8::7" })).status).toBe(200);
    const since = new Date().toISOString();
    await userKeys.createRsaKey("from-afar");
    expect((await rows("primary", since, "AzureDiagnostics")).map((r) => r["CallerIPAddress"])).toEqual(["2001:db8::7"]);
    expect((await emu.control("primary", "POST", "/_emulator/reset")).status).toBe(204);
    expect((await emu.control("primary", "GET", "/_emulator/caller-ip")).body).toEqual({ loopbackCallerIp: null });
  });

  it("refuses an unknown audit format, naming the known ones", async () => {
    const res = await emu.control("primary", "GET", "/_emulator/audit?format=csv");
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe("Unknown audit format 'csv'. Use one of: record, resourceLog, AzureDiagnostics, AZKVAuditLogs.");
  });

  it("never writes the bearer token into any view", async () => {
    const token = await emu.token("primary");
    const since = new Date().toISOString();
    expect((await emu.request("primary", "GET", "/keys?api-version=7.6", { token })).status).toBe(200);
    for (const format of ["record", "resourceLog", "AzureDiagnostics", "AZKVAuditLogs"]) {
      const text = JSON.stringify(await rows("primary", since, format));
      expect(text).toContain("KeyList");
      expect(text).not.toContain(token.split(".")[2]!);
    }
  });
});
