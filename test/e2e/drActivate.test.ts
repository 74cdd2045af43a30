/**
 * The Managed HSM DR procedure end to end through the operator CLI: the primary's security domain is downloaded for
 * three custodians (quorum 2) with `hsm-lifecycle dr download`; a NEW Managed HSM in recovery mode is activated
 * with two of their keys by `hsm-lifecycle dr activate` (exchange key, local re-wrap, upload); then a full
 * restore drill of the primary into that HSM passes — the app's drill workflow, as the drill identity.
 *
 * The new HSM lives in a second emulator (`drnew`, started with `,recovery`) sharing the stack emulator's CA and
 * token secret, so the stack's identity endpoint and TLS trust reach it unchanged. The CLI is the real bin as a
 * child process (needs `npm run build`), configured by a settings file and running as the operator through
 * DefaultAzureCredential (AZURE_CLIENT_ID → the stack's managed-identity endpoint).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KeyClient } from "@azure/keyvault-keys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack, type LocalStack } from "../../dev/localStack";
import type { Runner } from "../../runner/index";
import { applyRbac } from "../../shared/rbac/rbacApply";
import { buildRbacPlan } from "../../shared/rbac/rbacPlan";
import { stackRbacPrincipals } from "../../dev/stackIdentities";
import { makeCustodians, writeCustodianFiles, type Custodian } from "../support/custodianCertificates";
import { rawHttpsRequest, type TestEmulator } from "../support/emulator";
import { runCliProcess, type CliRun } from "../support/runCliProcess";
import { outcomeOn, postDrillTo, readReport, siblingEmulator, startDrillRunner, verifiedBackupOfPrimary } from "./drillStackSupport";

let stack: LocalStack;
let recovery: TestEmulator;
let runner: Runner | undefined;
let stateDir: string;
let settingsFile: string;
let custodians: Custodian[];
let strangers: Custodian[];
const printed: string[] = [];

async function cli(args: string[]): Promise<CliRun> {
  const run = await runCliProcess([...args, "--settings", settingsFile], { AZURE_CLIENT_ID: stack.identities.operator });
  printed.push(run.stdout, run.stderr);
  return run;
}

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "dr-activate-"));
  // The CLI runs `dr` as the operator through the identity endpoint, which must have the operator attached.
  stack = await startLocalStack({ stateDir, azuriteInMemory: true, demoKeys: true, operatorManagedIdentity: true });
  recovery = await siblingEmulator(stack, "recovery-emulator", [{ name: "drnew", recovery: true }]);
  settingsFile = join(stateDir, "operator.settings.json");
  const values = { ...stack.settings, HSMS: `primary=${stack.urls.primary},dr=${stack.urls.dr},drnew=${recovery.url("drnew")}` };
  writeFileSync(settingsFile, JSON.stringify({ IsEncrypted: false, Values: values }, null, 2), { mode: 0o600 });
  const keysDir = join(stateDir, "custodians");
  mkdirSync(keysDir);
  custodians = await makeCustodians(3);
  strangers = await makeCustodians(2, "stranger");
  writeCustodianFiles(keysDir, custodians);
  writeCustodianFiles(keysDir, strangers, "stranger");
}, 180_000);

afterAll(async () => {
  await runner?.close();
  await recovery?.close();
  await stack?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

describe("the DR procedure through hsm-lifecycle dr", () => {
  const sdFile = (): string => join(stateDir, "primary-sd.json");

  it("dr download writes the primary's security domain for 3 custodians, quorum 2; refuses bad counts and never overwrites", async () => {
    const certs = custodians.flatMap((c) => ["--cert", c.certFile!]);
    const two = await cli(["dr", "download", "--hsm", "primary", "--cert", custodians[0]!.certFile!, "--cert", custodians[1]!.certFile!, "--quorum", "2", "--out", sdFile()]);
    expect(two.code).toBe(2);
    expect(two.stderr).toContain('"dr download" needs 3 to 10 --cert files (one per custodian); 2 given.');
    const badQuorum = await cli(["dr", "download", "--hsm", "primary", ...certs, "--quorum", "4", "--out", sdFile()]);
    expect(badQuorum.code).toBe(2);
    expect(badQuorum.stderr).toContain("--quorum 4 exceeds the 3 certificates");
    expect(existsSync(sdFile())).toBe(false);

    const ok = await cli(["dr", "download", "--hsm", "primary", ...certs, "--quorum", "2", "--out", sdFile()]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/dr download: downloading the security domain of primary .* for 3 custodians, quorum 2/);
    expect(ok.stdout).toContain(`primary: security domain written to ${sdFile()} (quorum 2 of 3)`);
    const file = JSON.parse(readFileSync(sdFile(), "utf8"));
    expect(file.SharedKeys).toMatchObject({ required: 2, key_algorithm: "shamir_share" });
    expect(file.SharedKeys.enc_shares).toHaveLength(3);

    const again = await cli(["dr", "download", "--hsm", "primary", ...certs, "--quorum", "2", "--out", sdFile()]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("already exists; a security domain file is never overwritten");
  }, 120_000);

  it("dr activate fails naming the cause with too few keys, or keys of other custodians; the new HSM stays inactive", async () => {
    const one = await cli(["dr", "activate", "--hsm", "drnew", "--security-domain", sdFile(), "--key", custodians[0]!.keyFile!]);
    expect(one.code).toBe(2);
    expect(one.stderr).toContain('"dr activate" needs at least 2 --key files');
    const wrong = await cli(["dr", "activate", "--hsm", "drnew", "--security-domain", sdFile(), "--key", strangers[0]!.keyFile!, "--key", strangers[1]!.keyFile!]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/dr activate: 1\/4 fetching the exchange key of drnew/);
    expect(wrong.stderr).toMatch(/hsm-lifecycle dr activate: Custodian key #1 opens none of the file's remaining shares/);
    expect((await recovery.control("drnew", "GET", "/_emulator/info")).body.activated).toBe(false);
  }, 120_000);

  it("dr activate with 2 of the 3 custodian keys activates the new HSM with the primary's domain; every step reported; no key printed", async () => {
    const res = await cli(["dr", "activate", "--hsm", "drnew", "--security-domain", sdFile(), "--key", custodians[2]!.keyFile!, "--key", custodians[0]!.keyFile!]);
    expect(res.code, res.stderr).toBe(0);
    const steps = res.stderr.split("\n").filter((l) => l.startsWith("dr activate:"));
    expect(steps.map((l) => l.slice(0, 16))).toEqual(["dr activate: 1/4", "dr activate: 2/4", "dr activate: 3/4", "dr activate: 4/4"]);
    expect(steps[2]).toContain("quorum met (2 of 2 shares)");
    expect(steps[3]).toContain("drnew reports Success: The resource is active.");
    expect(res.stdout).toContain("drnew: activated with the security domain from");
    const info = (await recovery.control("drnew", "GET", "/_emulator/info")).body;
    const primaryInfo = (await rawHttpsRequest(stack.caPem, `${stack.urls.primary}/_emulator/info`, "GET")).body;
    expect(info).toMatchObject({ activated: true, securityDomainId: primaryInfo.securityDomainId });

    const again = await cli(["dr", "activate", "--hsm", "drnew", "--security-domain", sdFile(), "--key", custodians[0]!.keyFile!, "--key", custodians[1]!.keyFile!]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/drnew is not in recovery mode .*needs a NEW Managed HSM/);
  }, 120_000);

  it("a full restore drill of the primary into the activated HSM passes", async () => {
    const url = recovery.url("drnew");
    // As README says: `rbac apply` gives the new drill target the plan's roles (the drill's DR-only role included).
    const plan = buildRbacPlan({ hsms: [{ name: "primary", role: "primary" }, { name: "drnew", role: "drillTarget" }], vaults: [], drillPairs: [{ primary: "primary", target: "drnew" }], rbacPrincipals: stackRbacPrincipals() });
    const applied = await applyRbac({ ...plan, instances: plan.instances.filter((i) => i.name === "drnew") }, { urls: { drnew: url }, credential: stack.adminCredential, clientOptions: stack.clientOptions() });
    expect(applied.changes.some((c) => c.includes("HSM Lifecycle Drill DR"))).toBe(true);
    await verifiedBackupOfPrimary(stack);
    runner = await startDrillRunner(stack, { primary: stack.urls.primary, drnew: url }, "primary=drnew");
    const started = await postDrillTo(runner, { pair: "primary=drnew" });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const { runtimeStatus, output } = await outcomeOn(runner, started.body.id as string, started.body.statusPath as string);
    expect(runtimeStatus).toBe("Completed");
    expect(output, JSON.stringify(output.failures)).toMatchObject({ kind: "full", verdict: "passed", failures: [] });
    const report = await readReport(stack, output.reportJson);
    expect(report.restore).toMatchObject({ status: "Succeeded" });
    for (const c of report.checks) expect(c.passed, `${c.name}: ${c.detail}`).toBe(true);
    expect(report.checks.some((c) => c.name.startsWith("cryptoProbe:"))).toBe(true);
    // The primary's keys are on the new HSM.
    const names: string[] = [];
    for await (const k of new KeyClient(url, stack.adminCredential, stack.clientOptions()).listPropertiesOfKeys()) names.push(k.name);
    expect(names).toContain("pay-signing");
  }, 180_000);

  it("printed nothing of the custodians' private keys", () => {
    const all = printed.join("\n");
    expect(all).not.toContain("PRIVATE KEY");
    for (const c of [...custodians, ...strangers]) {
      const body = c.privateKeyPem.split("\n")[5]!;
      expect(all).not.toContain(body);
    }
  });
});
