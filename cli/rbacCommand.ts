/**
 * `rbac plan [--json]`: the role definitions and assignments every configured HSM and vault needs (from the
 * settings alone). `rbac apply [--dry-run]`: prints the diff, then makes it so with an administrator's credential
 * (idempotent). `rbac check [--json]`: read only; exit 1 on drift.
 */
import type { InstanceRbacDiff } from "../shared/rbac/rbacDiff";
import { describeDrift, hasDrift } from "../shared/rbac/rbacDiff";
import { applyRbac, diffRbac } from "../shared/rbac/rbacApply";
import type { RbacPlan } from "../shared/rbac/rbacPlan";
import type { CliArgs } from "./cliArgs";
import type { CliContext } from "./cliContext";
import type { CliIo } from "./cliIo";
import { formatTable, indent } from "./formatTable";
import { rbacAdminCredential, rbacConnection, rbacPlanOf } from "../shared/fleet/rbacContext";

export async function rbacCommand(ctx: CliContext, args: CliArgs, io: CliIo): Promise<number> {
  const plan = rbacPlanOf(ctx);
  if (args.rbacAction === "plan") {
    io.out(args.json ? JSON.stringify(planJson(plan), null, 2) : renderPlan(plan));
    return 0;
  }
  const connection = rbacConnection(ctx, rbacAdminCredential(ctx, args.credential));
  if (args.rbacAction === "apply") {
    const result = await applyRbac(plan, connection, { dryRun: args.dryRun });
    const changes = result.changes.filter((c) => !c.startsWith("!"));
    const notes = result.changes.filter((c) => c.startsWith("!"));
    const out = [changes.length === 0 ? "rbac apply: in step with the plan; nothing to change" : `rbac apply: ${changes.length} change(s)${args.dryRun ? " (dry run: nothing written)" : ""}`, ...changes.map((c) => `  ${c}`)];
    if (notes.length > 0) out.push("", "Not changed (other principals; rbac check reports them):", ...notes.map((c) => `  ${c}`));
    if (!args.dryRun && changes.length > 0) out.push("", "applied");
    io.out(out.join("\n"));
    return 0;
  }
  const diffs = await diffRbac(plan, connection);
  const drift = diffs.some(hasDrift);
  if (args.json) io.out(JSON.stringify(checkJson(diffs), null, 2));
  else io.out(drift ? ["rbac check: DRIFT", ...diffs.flatMap(describeDrift).map((l) => `  - ${l}`), "", 'Fix: "hsm-lifecycle rbac apply" for our identities; remove the other principals\' assignments by hand.'].join("\n") : `rbac check: in step with the plan (${plan.instances.length} instance(s))`);
  return drift ? 1 : 0;
}

export function planJson(plan: RbacPlan): unknown {
  return {
    instances: plan.instances.map((i) => ({
      name: i.name,
      kind: i.kind,
      role: i.role,
      definitions: i.definitions.map((d) => ({ name: d.name, roleName: d.roleName, description: d.description, actions: d.actions, dataActions: d.dataActions })),
      assignments: i.assignments.map((a) => ({ identity: a.identity, principalId: a.principalId, roleName: a.role.roleName, roleDefinitionName: a.role.name, scope: a.scope, ...(a.drOnly ? { drOnly: true } : {}) })),
    })),
    administrators: plan.principals.administrators,
  };
}

function renderPlan(plan: RbacPlan): string {
  const out: string[] = ["rbac plan"];
  for (const i of plan.instances) {
    out.push("", `${i.name} (${i.kind === "vault" ? "vault" : i.role === "drillTarget" ? "Managed HSM, drill target" : "Managed HSM, primary"})`);
    out.push(`  role definitions: ${i.definitions.map((d) => d.roleName).join(", ")}`);
    out.push(indent(formatTable(["IDENTITY", "PRINCIPAL", "ROLE", "SCOPE", "NOTE"], i.assignments.map((a) => [a.identity, a.principalId, a.role.roleName, a.scope, a.drOnly ? "DR only: re-applied by the DR steward after each full restore" : ""]))));
  }
  const roles = new Map(plan.instances.flatMap((i) => i.definitions.map((d) => [d.name, d] as const)));
  out.push("", "Role definitions (data actions)");
  for (const d of roles.values()) out.push(`  ${d.roleName} (${d.name}): ${[...d.actions, ...d.dataActions].map((a) => a.replace(/^Microsoft\.KeyVault\/(managedHsm|vaults)\//, "")).join(", ")}`);
  return out.join("\n");
}

export function checkJson(diffs: InstanceRbacDiff[]): unknown {
  return {
    drift: diffs.some(hasDrift),
    instances: diffs.map((d) => ({
      instance: d.instance,
      definitions: d.definitions.map((x) => ({ roleName: x.role.roleName, name: x.role.name, state: x.state })),
      missing: d.missing.map((m) => ({ identity: m.identity, principalId: m.principalId, roleName: m.role.roleName, scope: m.scope })),
      extra: d.extra.map((x) => ({ identity: x.identity, principalId: x.assignment.principalId, roleName: x.roleName, scope: x.assignment.scope, overBroad: x.beyondPlan.length > 0, beyondPlan: x.beyondPlan })),
      privileged: d.privileged.map((p) => ({ principalId: p.assignment.principalId, roleName: p.roleName, scope: p.assignment.scope, actions: p.actions })),
      findings: describeDrift(d),
    })),
  };
}
