/**
 * The fleet page and the plan as a person at the console gets them, on the local stack: `GET /api/fleet` (HTML and
 * `?format=json`) and `GET /api/plan` through a gateway that checks function keys as Azure does (no key, or another
 * function's key → 401), the page rendered in headless Chromium (screenshot kept in test-artifacts/fleet.png), the
 * attention list identical to `hsm-lifecycle status`'s (one implementation), and the plan's three sections with
 * nothing changed. Build first (`npx tsc -p tsconfig.json`): the CLI runs from dist/.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { KeyClient } from "@azure/keyvault-keys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HSM_ROLE_IDS } from "../../emulator/rbac/builtInRoles";
import { startLocalStack, type LocalStack } from "../../dev/localStack";
import { KeyVaultAccessControlClient } from "../../shared/hsm/keyVaultAccessControlClient";
import { triggerNames } from "../../shared/names";
import { startFunctionKeyGateway, type FunctionKeyGateway, type GatewayKeys } from "../security/functionKeyGateway";
import { cliJson, runCliOn } from "../support/cliRunner";
import { auditOf, blobSnapshot, READ_OPERATIONS } from "../support/stackSnapshot";
import { readInChromium } from "./drillChromium";

const key = (): string => randomBytes(24).toString("base64url");
const keys: GatewayKeys = { functionKeys: { [triggerNames.fleetHttp]: key(), [triggerNames.planHttp]: key() }, hostKey: key(), systemKey: key(), masterKey: key() };
const FOREIGN = "7e57f0e1-0000-4000-8000-0000000f1ee7";
const ARTIFACTS = resolve(__dirname, "../../test-artifacts");

let stack: LocalStack;
let gateway: FunctionKeyGateway;
let dir: string;
let backupFolder: string;
let failedDrillId: string;

async function get(path: string, functionKey: string | undefined): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(`${gateway.url}${path}`, { headers: functionKey === undefined ? {} : { "x-functions-key": functionKey } });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

async function fleetJson(): Promise<any> {
  const res = await get("/api/fleet?format=json", keys.functionKeys[triggerNames.fleetHttp]);
  expect(res.status, res.text).toBe(200);
  return JSON.parse(res.text);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fleet-page-"));
  // The operator's identity is RBAC_ADMIN_CLIENT_ID here, so both the page and `status` check RBAC drift.
  stack = await startLocalStack({ stateDir: dir, demoKeys: true, azuriteInMemory: true, operatorManagedIdentity: true, runner: { clock: "real", scheduleTimers: false, startupTimers: false } });
  gateway = await startFunctionKeyGateway(stack.runner!.url, keys, [
    { method: "GET", route: /^fleet$/, functionName: triggerNames.fleetHttp },
    { method: "GET", route: /^plan$/, functionName: triggerNames.planHttp },
  ]);
  // Findings a person must see: an excluded key (legacy-*) that expires in 3 days, a failed drill, RBAC drift.
  await new KeyClient(stack.urls.primary, stack.adminCredential, stack.clientOptions()).updateKeyProperties("legacy-export", { expiresOn: new Date(Date.now() + 3 * 86_400_000) });
  const backup = await runCliOn(stack, ["backup", "--hsm", "primary", "--json"]);
  expect(backup.code, backup.stderr).toBe(0);
  backupFolder = cliJson(backup).backups[0].output.folder as string;
  const drill = await runCliOn(stack, ["drill", "--mode", "selective", "--key", "no-such-key", "--json"]);
  expect(drill.code, drill.stderr).toBe(1);
  failedDrillId = cliJson(drill).drillId as string;
  await new KeyVaultAccessControlClient(stack.urls.primary, stack.adminCredential, stack.clientOptions()).createRoleAssignment("/", "0c0ffee0-0000-4000-8000-0000000f1ee7", HSM_ROLE_IDS.cryptoOfficer, FOREIGN);
}, 240_000);

afterAll(async () => {
  await gateway?.close();
  await stack?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe("GET /api/fleet and /api/plan need their own function key", () => {
  it.each([
    ["/api/fleet", undefined],
    ["/api/fleet?format=json", undefined],
    ["/api/plan", undefined],
    ["/api/fleet", triggerNames.planHttp],
    ["/api/plan", triggerNames.fleetHttp],
  ])("%s with %s's key → 401", async (path, keyOf) => {
    const res = await get(path, keyOf === undefined ? undefined : keys.functionKeys[keyOf]);
    expect(res.status).toBe(401);
    expect(res.text).not.toContain("primary");
  });

  it("a bad format is a 400 naming the fix", async () => {
    const res = await get("/api/fleet?format=xml", keys.functionKeys[triggerNames.fleetHttp]);
    expect(res.status).toBe(400);
    expect(res.text).toContain('\\"format\\" must be \\"html\\" or \\"json\\"');
  });
});

describe("the fleet page", () => {
  it("JSON: every HSM and vault, keys by days to expiry, the verified backup and RPO now, the failed drill, and the same attention list as status", async () => {
    const fleet = await fleetJson();
    expect(fleet.schemaVersion).toBe(1);
    // The documented shape (README "Fleet page and plan"): these fields, no others.
    expect(Object.keys(fleet).sort()).toEqual(["at", "attention", "backups", "errors", "fleet", "instances", "lastDrill", "schemaVersion", "unrotatable"]);
    expect(Object.keys(fleet.instances[0]).sort()).toEqual(["due", "keys", "kind", "listed", "name", "notices", "skipped"]);
    expect(Object.keys(fleet.instances[0].keys[0]).sort()).toEqual(["daysToExpiry", "decision", "enabled", "expiresOn", "lastRotatedOn", "name"]);
    expect(Object.keys(fleet.backups[0]).sort()).toEqual(["count", "hsm", "lastReverification", "lastVerified", "reverifyFailed", "rpoMet", "rpoNowMs", "rpoTargetMs"]);
    expect(fleet.fleet.map((f: any) => [f.name, f.kind, f.role])).toEqual([
      ["primary", "managedHsm", "primary"],
      ["dr", "managedHsm", "drillTarget"],
      ["app", "vault", "vault"],
    ]);
    const primary = fleet.instances.find((i: any) => i.name === "primary");
    const legacy = primary.keys.find((k: any) => k.name === "legacy-export");
    expect(legacy).toMatchObject({ enabled: true, daysToExpiry: 2, decision: "skip: excluded", lastRotatedOn: expect.any(String) });
    const days = primary.keys.map((k: any) => k.daysToExpiry ?? Infinity);
    expect(days).toEqual([...days].sort((a: number, b: number) => a - b));
    expect(primary.keys.find((k: any) => k.name === "token-signing")).toMatchObject({ decision: "rotate: expired", daysToExpiry: expect.any(Number) });
    expect(primary.keys.find((k: any) => k.name === "token-signing").daysToExpiry).toBeLessThan(0);
    expect(fleet.instances.find((i: any) => i.name === "app").keys.map((k: any) => k.name)).toContain("app-signing");
    expect(fleet.backups).toEqual([expect.objectContaining({ hsm: "primary", lastVerified: expect.objectContaining({ folder: backupFolder, verifiedAt: expect.any(String) }), rpoMet: true })]);
    expect(fleet.lastDrill).toMatchObject({ drillId: failedDrillId, verdict: "failed" });
    expect(fleet.errors).toEqual([]);
    expect(fleet.attention).toContainEqual(expect.stringMatching(/^primary\/legacy-export: Not rotated: excluded .* \(expires within P7D\)$/));
    expect(fleet.attention).toContain(`the last drill ${failedDrillId} failed. Fix: see "hsm-lifecycle report --latest".`);
    expect(fleet.attention).toContainEqual(expect.stringContaining(`RBAC drift: primary: principal ${FOREIGN}`));
    // One implementation: the CLI's status lists exactly the same findings.
    const status = cliJson(await runCliOn(stack, ["status", "--json"]));
    expect(status.attention).toEqual(fleet.attention);
    expect(status.schemaVersion).toBe(1);
  });

  it("HTML in headless Chromium: semantic tables with the fleet's data, the attention list, no scripts, a strict CSP that lets only its own style in", async () => {
    const res = await get("/api/fleet", keys.functionKeys[triggerNames.fleetHttp]);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'$/);
    expect(csp).not.toContain("unsafe");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.text).not.toMatch(/<script|\son[a-z]+=/i);
    // The page echoes no key (neither the one it was opened with nor any other).
    for (const k of [keys.hostKey, keys.systemKey, keys.masterKey, ...Object.values(keys.functionKeys)]) expect(res.text.includes(k)).toBe(false);
    const fleet = await fleetJson();

    const { value: seen, screenshot } = await readInChromium<{
      title: string;
      scripts: number;
      styled: string;
      captions: string[];
      rowHeadersWithoutScope: number;
      fleetRows: string[];
      keyRows: string[];
      attention: string[];
      backupRow: string;
      verdict: string;
      text: string;
    }>(
      `${gateway.url}/api/fleet?code=${encodeURIComponent(keys.functionKeys[triggerNames.fleetHttp]!)}`,
      `(() => ({
        title: document.title,
        scripts: document.scripts.length,
        styled: getComputedStyle(document.querySelector('table')).borderCollapse,
        captions: [...document.querySelectorAll('table > caption')].map((c) => c.innerText.trim()),
        rowHeadersWithoutScope: [...document.querySelectorAll('th')].filter((th) => !['row', 'col'].includes(th.getAttribute('scope'))).length,
        fleetRows: [...document.querySelectorAll('#fleet tbody tr')].map((r) => r.cells[0].innerText.trim() + ' ' + r.cells[2].innerText.trim()),
        keyRows: [...document.querySelectorAll('[data-key]')].map((r) => r.getAttribute('data-key')),
        attention: [...document.querySelectorAll('#attention li')].map((li) => li.innerText.trim()),
        backupRow: document.querySelector('[data-backup="primary"]').innerText,
        verdict: document.querySelector('[data-verdict]').innerText.trim(),
        text: document.body.innerText,
      }))()`,
    );
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, "fleet.png"), screenshot);
    expect(screenshot.length).toBeGreaterThan(10_000);

    expect(seen.title).toMatch(/^hsm-lifecycle fleet: \d+ need attention$/);
    expect(seen.scripts).toBe(0);
    // The style sheet applied: the CSP's hash matches it (a blocked sheet would leave tables "separate").
    expect(seen.styled).toBe("collapse");
    expect(seen.captions).toEqual(["HSMs and vaults", "Keys of primary, soonest expiry first", "Keys of app, soonest expiry first", "Backups: last verified per primary HSM", "Last restore drill"]);
    expect(seen.rowHeadersWithoutScope).toBe(0);
    expect(seen.fleetRows).toEqual(["primary primary", "dr drill target (never rotated or backed up)", "app vault"]);
    expect(seen.keyRows).toEqual(expect.arrayContaining(["primary/legacy-export", "primary/token-signing", "primary/pay-signing", "app/app-signing"]));
    // Rows follow days to expiry, as in the JSON.
    expect(seen.keyRows.filter((k) => k.startsWith("primary/"))).toEqual(fleet.instances[0].keys.map((k: any) => `primary/${k.name}`));
    expect(seen.attention).toEqual(fleet.attention);
    expect(seen.backupRow).toContain(backupFolder);
    expect(seen.verdict).toBe("FAILED");
    expect(seen.text).toContain(failedDrillId);
  }, 90_000);
});

describe("GET /api/plan and hsm-lifecycle plan", () => {
  it("rotation, retention and the next drill, in one dry run that changes nothing", async () => {
    const instances = [stack.urls.primary, stack.urls.dr, stack.urls.vault];
    const auditBefore = await Promise.all(instances.map((u) => auditOf(stack, u)));
    const blobsBefore = await blobSnapshot(stack);

    const res = await get("/api/plan", keys.functionKeys[triggerNames.planHttp]);
    expect(res.status, res.text).toBe(200);
    const plan = JSON.parse(res.text);
    expect(plan.schemaVersion).toBe(1);
    expect(Object.keys(plan).sort()).toEqual(["at", "drills", "errors", "retention", "reverification", "rotation", "schemaVersion"]);
    const primary = plan.rotation.instances.find((i: any) => i.name === "primary");
    expect(primary.rotate.map((r: any) => r.key).sort()).toEqual(["data-wrap", "pay-signing", "token-signing"]);
    expect(primary.skip).toContainEqual(expect.objectContaining({ key: "legacy-export", reason: "excluded" }));
    expect(plan.retention).toEqual([{ hsm: "primary", plan: expect.objectContaining({ delete: [], keep: [expect.objectContaining({ folder: backupFolder, reasons: expect.arrayContaining(["newest verified backup"]) })] }) }]);
    const drill = plan.drills[0];
    expect(drill).toMatchObject({ pair: "primary=dr", safe: true, schedule: stack.settings["DRILL_SCHEDULE"], backup: { folder: backupFolder, keyCount: 5 }, rpoMet: true });
    expect(Date.parse(drill.nextRunAt)).toBeGreaterThan(Date.parse(plan.at));
    expect(plan.errors).toEqual([]);

    const bad = await get("/api/plan?at=yesterday", keys.functionKeys[triggerNames.planHttp]);
    expect(bad.status).toBe(400);

    const human = await runCliOn(stack, ["plan"]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/\nRotation\n[\s\S]*\nBackup retention\n[\s\S]*\nRestore drill\n/);
    expect(human.stdout).toContain(`primary=dr: next run ${drill.nextRunAt.slice(0, 10)}`);
    expect(human.stdout).toContain(`would restore ${backupFolder} (5 keys`);

    const auditAfter = await Promise.all(instances.map((u) => auditOf(stack, u)));
    const newRecords = auditAfter.flatMap((after, i) => after.slice(auditBefore[i]?.length ?? 0));
    expect(newRecords.filter((r) => r.operationName === "KeyList").length).toBeGreaterThanOrEqual(4); // the app and the CLI read
    expect(newRecords.filter((r) => !READ_OPERATIONS.has(r.operationName)).map((r) => r.operationName)).toEqual([]);
    expect(await blobSnapshot(stack)).toEqual(blobsBefore);
  }, 60_000);
});
