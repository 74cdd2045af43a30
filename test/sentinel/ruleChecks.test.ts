// The rule checker itself: it must catch a column the rows lack, evaluate the filter forms rules use as Log Analytics
// does, and report (not guess) what it cannot evaluate.
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkRule, loadRule, type Row } from "./ruleChecks";

const dir = mkdtempSync(join(tmpdir(), "rule-checks-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function ruleFile(query: string): string {
  const file = join(dir, `rule-${++counter}.yaml`);
  const body = query
    .trim()
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n");
  writeFileSync(
    file,
    `id: 00000000-0000-4000-8000-000000000001\nname: test\ndescription: test\nseverity: Low\nrequiredDataConnectors: []\nqueryFrequency: 1h\nqueryPeriod: 1h\ntriggerOperator: gt\ntriggerThreshold: 0\ntactics: []\nentityMappings: []\nversion: 1.0.0\nkind: Scheduled\nquery: |\n${body}\n`,
  );
  return file;
}

const rows: Row[] = [
  { TimeGenerated: "2026-01-01T00:00:00Z", OperationName: "KeyGet", ResourceType: "MANAGEDHSMS", CallerIPAddress: "203.0.113.7", DurationMs: 12, clientInfo_s: "azsdk-js-keyvault-keys/4.10.2" },
  { TimeGenerated: "2026-01-01T00:00:01Z", OperationName: "KeyDelete", ResourceType: "MANAGEDHSMS", CallerIPAddress: "10.0.0.4", DurationMs: 40, clientInfo_s: "" },
  { TimeGenerated: "2026-01-01T00:00:02Z", OperationName: "keyget", ResourceType: "VAULTS", CallerIPAddress: "198.51.100.1", DurationMs: 3, clientInfo_s: "curl/8" },
];

const ops = (q: string, constants?: Record<string, unknown>): unknown[] =>
  checkRule(ruleFile(q), { AzureDiagnostics: rows }, constants ? { constants } : {}).kept.map((r) => r["OperationName"]);

describe("checkRule", () => {
  it("reports a column the rows lack, as Log Analytics would refuse it", () => {
    const result = checkRule(ruleFile('AzureDiagnostics\n| where OperationNam == "KeyGet"\n| project identity_claim_upn_s'), { AzureDiagnostics: rows });
    expect(result.unknownColumns.sort()).toEqual(["OperationNam", "identity_claim_upn_s"]);
  });

  it("lists the names read through column_ifexists, which silently default when missing", () => {
    const result = checkRule(ruleFile('AzureDiagnostics\n| extend u = column_ifexists("identity_claim_upn_s", "None")'), { AzureDiagnostics: rows });
    expect(result.unknownColumns).toEqual([]);
    expect(result.ifExistsColumns).toEqual(["identity_claim_upn_s"]);
  });

  it("evaluates ==, =~, in, in~, !in, has, startswith, comparisons, and/or/not and isnotempty like Kusto", () => {
    expect(ops('AzureDiagnostics | where OperationName == "KeyGet"')).toEqual(["KeyGet"]);
    expect(ops('AzureDiagnostics | where OperationName =~ "KeyGet"')).toEqual(["KeyGet", "keyget"]);
    expect(ops('let L = dynamic(["KeyGet"]);\nAzureDiagnostics | where OperationName in (L)')).toEqual(["KeyGet"]);
    expect(ops('let L = dynamic(["KeyGet"]);\nAzureDiagnostics | where OperationName in~ (L)')).toEqual(["KeyGet", "keyget"]);
    expect(ops('AzureDiagnostics | where OperationName !in ("KeyGet", "keyget")')).toEqual(["KeyDelete"]);
    expect(ops('AzureDiagnostics | where clientInfo_s has "keyvault"')).toEqual(["KeyGet"]);
    expect(ops('AzureDiagnostics | where CallerIPAddress startswith "10."')).toEqual(["KeyDelete"]);
    expect(ops("let T = 10;\nAzureDiagnostics | where DurationMs > T")).toEqual(["KeyGet", "KeyDelete"]);
    expect(ops('AzureDiagnostics | where not(ResourceType == "VAULTS") and isnotempty(clientInfo_s)')).toEqual(["KeyGet"]);
    expect(ops('AzureDiagnostics | where ResourceType =~ "vaults" or OperationName == "KeyDelete"')).toEqual(["KeyDelete", "keyget"]);
  });

  it("takes values for let constants, and refuses a name the rule does not define", () => {
    const q = 'let L = dynamic(["KeyGet"]);\nAzureDiagnostics | where OperationName in (L)';
    expect(ops(q, { L: ["KeyDelete"] })).toEqual(["KeyDelete"]);
    expect(() => ops(q, { M: [] })).toThrow(/no let constant M to set; it has L/);
  });

  it("leaves filters after a summarize, and forms it does not know, unevaluated and says which", () => {
    const result = checkRule(
      ruleFile('AzureDiagnostics\n| where TimeGenerated > ago(1h)\n| where OperationName == "KeyGet"\n| summarize n = count() by CallerIPAddress\n| where n > 5'),
      { AzureDiagnostics: rows },
    );
    expect(result.unevaluated).toEqual(["TimeGenerated > ago(1h)"]);
    expect(result.evaluated).toEqual(['OperationName == "KeyGet"']);
    expect(result.kept.map((r) => r["OperationName"])).toEqual(["KeyGet"]);
  });

  it("refuses a rule file without the analytic rule fields, or with a query that does not parse", () => {
    const file = join(dir, "incomplete.yaml");
    writeFileSync(file, "id: x\nname: y\nquery: AzureDiagnostics\n");
    expect(() => loadRule(file)).toThrow(/missing description, severity/);
    expect(() => checkRule(ruleFile("AzureDiagnostics | where (OperationName =="), { AzureDiagnostics: rows })).toThrow(/does not parse/);
  });
});
