/**
 * The RBAC matrix on the local stack: every planned identity × every data action the product or an attacker could
 * call (shared/rbac/dataActionCatalog.ts), on the primary HSM, on DR and on the vault, sent for real to the emulator
 * with that identity's token. Allowed (anything but 403 ForbiddenByRbac) must be exactly where `rbac plan` grants
 * the action at the request's scope. Each probe names a key that does not exist or carries an invalid body, so an
 * allowed call fails after authorization (404/400) and changes nothing. The table is printed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmulatorCredential } from "../../emulator/auth/emulatorCredential";
import { startLocalStack, type LocalStack } from "../../dev/localStack";
import { STACK_IDENTITIES, stackRbacPlan } from "../../dev/stackIdentities";
import { KNOWN_ACTIONS } from "../../shared/rbac/dataActionCatalog";
import { grants, scopeCovers } from "../../shared/rbac/grants";
import { permissionsOf } from "../../shared/rbac/rbacDiff";
import { diffRbac } from "../../shared/rbac/rbacApply";
import { PLANNED_IDENTITIES } from "../../shared/rbac/rbacPrincipals";
import { rawHttpsRequest } from "../support/emulator";

interface Probe {
  method: string;
  path: string;
  scope: string;
  body?: unknown;
}

const KEY = "matrix-no-such-key";
const RA = "//providers/Microsoft.Authorization/roleAssignments";
const RD = "//providers/Microsoft.Authorization/roleDefinitions";
const GUID = "9d1c7f0e-2b4a-4e8f-a1c3-5e7d9b0a2c4f";
const crypto = (op: string): Probe => ({ method: "POST", path: `/keys/${KEY}/0123456789abcdef0123456789abcdef/${op}`, scope: `/keys/${KEY}`, body: { alg: "RS256", value: "AAAA" } });

/** A request per action: the short action name (without the service prefix) → what calls it. */
const HSM_PROBES: Record<string, Probe> = {
  "keys/read/action": { method: "GET", path: `/keys/${KEY}`, scope: `/keys/${KEY}` },
  "keys/write/action": { method: "PATCH", path: `/keys/${KEY}`, scope: `/keys/${KEY}`, body: { attributes: {} } },
  "keys/create": { method: "POST", path: `/keys/${KEY}/create`, scope: `/keys/${KEY}`, body: { kty: "not-a-key-type" } },
  "keys/delete": { method: "DELETE", path: `/keys/${KEY}`, scope: `/keys/${KEY}` },
  "keys/import/action": { method: "PUT", path: `/keys/${KEY}`, scope: `/keys/${KEY}`, body: {} },
  "keys/release/action": { method: "POST", path: `/keys/${KEY}/release`, scope: `/keys/${KEY}`, body: {} },
  "keys/backup/action": { method: "POST", path: `/keys/${KEY}/backup`, scope: `/keys/${KEY}` },
  "keys/restore/action": { method: "POST", path: "/keys/restore", scope: "/keys", body: { value: "" } },
  "keys/rotate/action": { method: "POST", path: `/keys/${KEY}/rotate`, scope: `/keys/${KEY}` },
  "keys/sign/action": crypto("sign"),
  "keys/verify/action": crypto("verify"),
  "keys/encrypt/action": crypto("encrypt"),
  "keys/decrypt/action": crypto("decrypt"),
  "keys/wrap/action": crypto("wrapkey"),
  "keys/unwrap/action": crypto("unwrapkey"),
  "keys/deletedKeys/read/action": { method: "GET", path: `/deletedkeys/${KEY}`, scope: `/keys/${KEY}` },
  "keys/deletedKeys/delete": { method: "DELETE", path: `/deletedkeys/${KEY}`, scope: `/keys/${KEY}` },
  "keys/deletedKeys/recover/action": { method: "POST", path: `/deletedkeys/${KEY}/recover`, scope: `/keys/${KEY}` },
  "rng/action": { method: "POST", path: "/rng", scope: "/", body: { count: 1 } },
  "backup/start/action": { method: "POST", path: "/backup", scope: "/", body: {} },
  "backup/status/action": { method: "GET", path: "/backup/no-such-job/pending", scope: "/" },
  "restore/start/action": { method: "PUT", path: "/restore", scope: "/", body: {} },
  "restore/status/action": { method: "GET", path: "/restore/no-such-job/pending", scope: "/" },
  "roleAssignments/read/action": { method: "GET", path: RA, scope: "/" },
  "roleAssignments/write/action": { method: "PUT", path: `${RA}/${GUID}`, scope: "/", body: {} },
  "roleAssignments/delete/action": { method: "DELETE", path: `${RA}/${GUID}`, scope: "/" },
  "roleDefinitions/read/action": { method: "GET", path: RD, scope: "/" },
  "roleDefinitions/write/action": { method: "PUT", path: `${RD}/${GUID}`, scope: "/", body: {} },
  "roleDefinitions/delete/action": { method: "DELETE", path: `${RD}/${GUID}`, scope: "/" },
};

/** Vault calls are the same requests; only the action names differ (and rotation policies have their own). */
const VAULT_ONLY: Record<string, Probe> = {
  "keyrotationpolicies/read": { method: "GET", path: `/keys/${KEY}/rotationpolicy`, scope: `/keys/${KEY}` },
  "keyrotationpolicies/write": { method: "PUT", path: `/keys/${KEY}/rotationpolicy`, scope: `/keys/${KEY}`, body: { lifetimeActions: "not-a-list" } },
};
const VAULT_ALIASES: Record<string, string> = { "keys/create/action": "keys/create", "keys/update/action": "keys/write/action" };

function vaultProbe(name: string): Probe | undefined {
  const candidates = [name, `${name}/action`, `keys/${name}`, `keys/${name}/action`, VAULT_ALIASES[name] ?? ""];
  return VAULT_ONLY[name] ?? candidates.map((c) => HSM_PROBES[c]).find((p) => p !== undefined);
}

/** Actions Managed HSM has that the emulator serves no route for (nothing can call them there). */
const NOT_SERVED = new Set(["Microsoft.KeyVault/managedHsm/keys/export/action"]);

const short = (action: string): string => action.replace(/^Microsoft\.KeyVault\/(managedHsm|vaults)\//, "").replace(/^Microsoft\.Authorization\//, "");

describe("RBAC matrix: every identity × every action, on primary, DR and vault", () => {
  let stack: LocalStack;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), "rbac-matrix-"));
    stack = await startLocalStack({ stateDir, azuriteInMemory: true });
  });

  afterAll(async () => {
    await stack?.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("the stack holds exactly its RBAC plan (rbac check finds no drift)", async () => {
    const plan = stackRbacPlan({ primary: "primary", dr: "dr", vault: "app" });
    const diffs = await diffRbac(plan, { urls: { primary: stack.urls.primary, dr: stack.urls.dr, app: stack.urls.vault }, credential: stack.adminCredential, clientOptions: stack.clientOptions() });
    expect(diffs.map((d) => ({ instance: d.instance, definitions: d.definitions.length, missing: d.missing.length, extra: d.extra.length, privileged: d.privileged.length }))).toEqual(
      ["primary", "dr", "app"].map((instance) => ({ instance, definitions: 0, missing: 0, extra: 0, privileged: 0 })),
    );
  });

  it("allows each call exactly where rbac plan grants it", async () => {
    const plan = stackRbacPlan({ primary: "primary", dr: "dr", vault: "app" });
    const instances = [
      { name: "primary", url: stack.urls.primary, kind: "managedHsm" as const, aud: "https://managedhsm.azure.net/.default", probe: (n: string) => HSM_PROBES[n] },
      { name: "dr", url: stack.urls.dr, kind: "managedHsm" as const, aud: "https://managedhsm.azure.net/.default", probe: (n: string) => HSM_PROBES[n] },
      { name: "app", url: stack.urls.vault, kind: "vault" as const, aud: "https://vault.azure.net/.default", probe: vaultProbe },
    ];
    const mismatches: string[] = [];
    const table = new Map<string, Record<string, string>>();
    let calls = 0;
    for (const inst of instances) {
      const planned = plan.instances.find((i) => i.name === inst.name)!;
      for (const identity of PLANNED_IDENTITIES) {
        const oid = STACK_IDENTITIES[identity];
        const token = (await new EmulatorCredential(stack.tokenSecretFile, oid).getToken(inst.aud)).token;
        for (const action of KNOWN_ACTIONS[inst.kind]) {
          if (NOT_SERVED.has(action)) continue;
          const probe = inst.probe(short(action));
          if (probe === undefined) throw new Error(`no probe for ${action}`);
          const expected = planned.assignments.some((a) => a.identity === identity && scopeCovers(a.scope, probe.scope) && grants(permissionsOf(a.role), action));
          const sep = probe.path.includes("?") ? "&" : "?";
          const res = await rawHttpsRequest(stack.caPem, `${inst.url}${probe.path}${sep}api-version=7.5`, probe.method, { headers: { authorization: `Bearer ${token}` }, ...(probe.body === undefined ? {} : { body: probe.body }) });
          calls++;
          const denied = res.status === 403 && /ForbiddenByRbac/.test(res.text);
          if (res.status === 401 || (res.status === 403 && !denied)) throw new Error(`${identity} ${action} on ${inst.name}: unexpected ${res.status} ${res.text}`);
          const allowed = !denied;
          if (allowed !== expected) mismatches.push(`${identity} on ${inst.name}: ${short(action)} ${allowed ? "ALLOWED" : "denied"} (${res.status}), plan says ${expected ? "allowed" : "denied"}`);
          const row = table.get(`${inst.name} ${short(action)}`) ?? {};
          row[identity] = allowed ? (expected ? "yes" : "YES!") : expected ? "NO!" : ".";
          table.set(`${inst.name} ${short(action)}`, row);
        }
      }
    }
    const header = ["instance action".padEnd(44), ...PLANNED_IDENTITIES.map((i) => i.padEnd(9))].join(" ");
    const lines = [...table].map(([k, row]) => [k.padEnd(44), ...PLANNED_IDENTITIES.map((i) => (row[i] ?? "?").padEnd(9))].join(" "));
    console.log(`RBAC matrix (${calls} calls; yes = allowed as planned, . = denied as planned, YES!/NO! = mismatch)\n${header}\n${lines.join("\n")}`);
    expect(mismatches).toEqual([]);
    // The shape of least privilege, stated outright (the plan could be wrong too).
    const allowedOn = (instance: string, identity: string): string[] => [...table].filter(([k, r]) => k.startsWith(`${instance} `) && r[identity] === "yes").map(([k]) => k.slice(instance.length + 1));
    expect(allowedOn("primary", "drill")).not.toContain("restore/start/action");
    expect(allowedOn("dr", "drill")).toContain("restore/start/action");
    for (const identity of PLANNED_IDENTITIES) {
      expect(allowedOn("primary", identity)).not.toContain("keys/deletedKeys/delete");
      expect(allowedOn("primary", identity)).not.toContain("keys/create");
      expect(allowedOn("app", identity)).not.toContain("deletedKeys/delete");
    }
    expect(allowedOn("primary", "auditor").every((a) => /read|status/.test(a))).toBe(true);
    // Key recovery: restores and recovers; never purges (above), deletes or starts a backup. DR carries the same
    // assignment a full restore would copy there.
    expect(allowedOn("primary", "recovery")).toEqual(expect.arrayContaining(["restore/start/action", "restore/status/action", "keys/deletedKeys/recover/action", "keys/deletedKeys/read/action"]));
    for (const denied of ["backup/start/action", "keys/delete", "roleAssignments/write/action"]) expect(allowedOn("primary", "recovery")).not.toContain(denied);
    expect(allowedOn("dr", "recovery").sort()).toEqual(allowedOn("primary", "recovery").sort());
    expect(allowedOn("primary", "backup")).not.toContain("restore/start/action");
    expect(allowedOn("primary", "rotation")).toEqual(expect.arrayContaining(["keys/rotate/action", "keys/write/action"]));
    expect(allowedOn("primary", "rotation")).not.toContain("keys/delete");
  }, 120_000);
});
