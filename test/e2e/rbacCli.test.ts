/**
 * RBAC as code through the real CLI (`bin/hsm-lifecycle.js`) on one local stack that applied its roles with the
 * same `rbac apply` code: `rbac plan|check|apply`, then backup → drill → drill → backup → drill (and a selective
 * drill) with only the planned roles — the DR steward keeps the drill's DR role across every full restore — and a
 * Crypto Officer assignment added by hand, which `rbac check` and `status` report. Build first (dist/).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HSM_ROLE_IDS } from "../../emulator/rbac/builtInRoles";
import { startLocalStack, type LocalStack } from "../../dev/localStack";
import { stackRbacPlan } from "../../dev/stackIdentities";
import { KeyVaultAccessControlClient } from "../../shared/hsm/keyVaultAccessControlClient";
import { HSM_DRILL_DR_ROLE } from "../../shared/rbac/lifecycleRoles";
import { cliJson, runCliOn } from "../support/cliRunner";
import type { CliRun } from "../support/runCliProcess";

const FOREIGN = "7e57f0e1-0000-4000-8000-00000000c0de";

let stack: LocalStack;
let stateDir: string;

const cli = (args: string[]): Promise<CliRun> => runCliOn(stack, args);
const json = cliJson;

const rbacOf = (url: string): KeyVaultAccessControlClient => new KeyVaultAccessControlClient(url, stack.adminCredential, stack.clientOptions());

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "rbac-cli-"));
  // The operator has a managed identity here (a person at the terminal): `rbac` and `status` sign in as it.
  stack = await startLocalStack({ stateDir, demoKeys: true, azuriteInMemory: true, operatorManagedIdentity: true, runner: { clock: "real", scheduleTimers: false, startupTimers: false } });
}, 180_000);

afterAll(async () => {
  await stack?.close();
  if (stateDir !== undefined) rmSync(stateDir, { recursive: true, force: true });
});

describe("hsm-lifecycle rbac", () => {
  it("plan prints every instance's role definitions and assignments, from the settings alone", async () => {
    const run = await cli(["rbac", "plan", "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const plan = json(run);
    const expected = stackRbacPlan({ primary: "primary", dr: "dr", vault: "app" });
    expect(plan.instances.map((i: any) => [i.name, i.role, i.assignments.map((a: any) => `${a.identity} ${a.roleName} ${a.scope}${a.drOnly ? " (DR only)" : ""}`)])).toEqual(
      expected.instances.map((i) => [i.name, i.role, i.assignments.map((a) => `${a.identity} ${a.role.roleName} ${a.scope}${a.drOnly ? " (DR only)" : ""}`)]),
    );
    expect(plan.instances.find((i: any) => i.name === "primary").assignments.some((a: any) => a.roleName === HSM_DRILL_DR_ROLE.roleName)).toBe(false);
    const human = await cli(["rbac", "plan"]);
    expect(human.stdout).toMatch(/dr \(Managed HSM, drill target\)[\s\S]*drill\s+\S+\s+HSM Lifecycle Drill DR\s+\/\s+DR only/);
    expect(human.stdout).toContain("HSM Lifecycle Rotation (");
  });

  it("check finds the stack in step (exit 0); apply --dry-run has nothing to change", async () => {
    const check = await cli(["rbac", "check"]);
    expect(check.code, `${check.stdout}\n${check.stderr}`).toBe(0);
    expect(check.stdout).toContain("rbac check: in step with the plan (3 instance(s))");
    const dry = await cli(["rbac", "apply", "--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain("nothing to change");
  });

  it("backup → drill → drill → backup → drill all pass with only the planned roles; no drift after any of them", async () => {
    const steps: Array<[string, string[]]> = [
      ["backup", ["backup", "--hsm", "primary", "--json"]],
      ["drill", ["drill", "--pair", "primary=dr", "--json"]],
      ["drill", ["drill", "--pair", "primary=dr", "--json"]],
      ["backup", ["backup", "--hsm", "primary", "--json"]],
      ["drill", ["drill", "--pair", "primary=dr", "--json"]],
      ["selective drill", ["drill", "--pair", "primary=dr", "--mode", "selective", "--key", "pay-signing", "--json"]],
    ];
    const outcomes: string[] = [];
    for (const [what, args] of steps) {
      const run = await cli(args);
      expect(run.code, `${what}: ${run.stdout}\n${run.stderr}`).toBe(0);
      const out = json(run);
      if (what === "backup") outcomes.push(`backup ${out.backups[0].output.kind}`);
      else {
        expect(out.output.failures, what).toEqual([]);
        expect(out.output.warnings ?? [], what).toEqual([]);
        outcomes.push(`${what} ${out.output.verdict}`);
      }
      const check = await cli(["rbac", "check", "--json"]);
      expect(check.code, `after ${what}: ${check.stdout}`).toBe(0);
      expect(json(check).drift).toBe(false);
    }
    expect(outcomes).toEqual(["backup completed", "drill passed", "drill passed", "backup completed", "drill passed", "selective drill passed"]);
  }, 600_000);

  it("a Crypto Officer assignment added by hand is flagged by check (exit 1) and shown by status; apply removes ours, never others'", async () => {
    const primary = rbacOf(stack.urls.primary);
    await primary.createRoleAssignment("/", "0c0ffee0-0000-4000-8000-000000000001", HSM_ROLE_IDS.cryptoOfficer, stack.identities.rotation);
    await primary.createRoleAssignment("/", "0c0ffee0-0000-4000-8000-000000000002", HSM_ROLE_IDS.cryptoOfficer, FOREIGN);

    const check = await cli(["rbac", "check"]);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain("rbac check: DRIFT");
    expect(check.stdout).toMatch(/primary: rotation \(\S+\) holds "Managed HSM Crypto Officer" at \/: over-broad: grants .*keys\/deletedKeys\/delete.*roleAssignments\/write\/action/);
    expect(check.stdout).toContain(`primary: principal ${FOREIGN} (not ours, not an administrator) holds "Managed HSM Crypto Officer" at /`);
    const report = json(await cli(["rbac", "check", "--json"]));
    const primaryDiff = report.instances.find((i: any) => i.instance === "primary");
    expect(primaryDiff.extra).toEqual([expect.objectContaining({ identity: "rotation", roleName: "Managed HSM Crypto Officer", overBroad: true })]);
    expect(primaryDiff.privileged).toEqual([expect.objectContaining({ principalId: FOREIGN, actions: expect.arrayContaining(["Microsoft.KeyVault/managedHsm/keys/deletedKeys/delete", "Microsoft.KeyVault/managedHsm/roleAssignments/write/action"]) })]);

    const status = await cli(["status", "--json"]);
    const attention: string[] = json(status).attention;
    expect(attention).toContainEqual(expect.stringMatching(/^RBAC drift: primary: rotation .*Managed HSM Crypto Officer/));
    expect(attention).toContainEqual(expect.stringContaining(`RBAC drift: primary: principal ${FOREIGN}`));
    const human = await cli(["status"]);
    expect(human.stdout).toMatch(/Needs attention[\s\S]*RBAC drift: primary: rotation/);

    const dry = await cli(["rbac", "apply", "--dry-run"]);
    expect(dry.stdout).toMatch(/- primary: remove "Managed HSM Crypto Officer" of rotation/);
    expect(dry.stdout).toContain("dry run: nothing written");
    expect((await cli(["rbac", "check"])).code).toBe(1);
    const apply = await cli(["rbac", "apply"]);
    expect(apply.code, apply.stderr).toBe(0);
    expect(apply.stdout).toMatch(/Not changed \(other principals[\s\S]*principal 7e57f0e1/);
    const after = json(await cli(["rbac", "check", "--json"]));
    const p = after.instances.find((i: any) => i.instance === "primary");
    expect(p.extra).toEqual([]);
    expect(p.privileged).toHaveLength(1);
    await primary.deleteRoleAssignment("/", "0c0ffee0-0000-4000-8000-000000000002");
    expect((await cli(["rbac", "check"])).code).toBe(0);
  }, 120_000);

  it("usage: rbac needs plan, apply or check; only apply takes --dry-run", async () => {
    const none = await cli(["rbac"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('"rbac" needs one of plan, apply, check');
    const dry = await cli(["rbac", "check", "--dry-run"]);
    expect(dry.code).toBe(2);
    expect(dry.stderr).toContain('"rbac check" does not take --dry-run');
  });
});
