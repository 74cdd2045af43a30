// Local RBAC: built-in roles with real ids, role assignment/definition endpoints at the multi-slash scopes
// the SDK sends, and a data-plane authorization matrix by role and scope.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { RestError } from "@azure/core-rest-pipeline";
import { HSM_ROLE_IDS, VAULT_ROLE_IDS } from "../../emulator/rbac/builtInRoles";
import { startTestEmulator, type TestEmulator } from "../support/emulator";

let emu: TestEmulator;
const API = "api-version=2025-07-01";
const DIGEST = Buffer.alloc(32, 7).toString("base64url");

const principals = {
  officer: "11111111-0000-4000-8000-000000000001",
  user: "11111111-0000-4000-8000-000000000002",
  auditor: "11111111-0000-4000-8000-000000000003",
  policyAdmin: "11111111-0000-4000-8000-000000000004",
  none: "11111111-0000-4000-8000-000000000005",
  keyScoped: "11111111-0000-4000-8000-000000000006",
};

async function assign(instance: string, scopePath: string, roleId: string, principalId: string): Promise<string> {
  const name = randomUUID();
  const r = await emu.request(instance, "PUT", `${scopePath}providers/Microsoft.Authorization/roleAssignments/${name}?${API}`, {
    body: { properties: { roleDefinitionId: `Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/${roleId}`, principalId } },
  });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return name;
}

beforeAll(async () => {
  emu = await startTestEmulator({ hsms: ["hsm1"], vaults: ["vault1"] });
  await assign("hsm1", "///", HSM_ROLE_IDS.cryptoOfficer, principals.officer);
  await assign("hsm1", "///", HSM_ROLE_IDS.cryptoUser, principals.user);
  await assign("hsm1", "//keys/", HSM_ROLE_IDS.cryptoAuditor, principals.auditor);
  await assign("hsm1", "///", HSM_ROLE_IDS.policyAdministrator, principals.policyAdmin);
  await assign("hsm1", "//keys/k1/", HSM_ROLE_IDS.cryptoUser, principals.keyScoped);
  const admin = emu.keyClient("hsm1");
  await admin.createRsaKey("k1");
  await admin.createRsaKey("k2");
  await (await admin.beginDeleteKey("k2", { intervalInMs: 10 })).pollUntilDone();
  await admin.createRsaKey("k3");
});
afterAll(async () => {
  await emu?.close();
});

type Op = { label: string; method: string; path: string; body?: unknown };
const ops: Op[] = [
  { label: "create k1 version", method: "POST", path: `/keys/k1/create?${API}`, body: { kty: "RSA-HSM", key_size: 2048 } },
  { label: "create k4", method: "POST", path: `/keys/k4/create?${API}`, body: { kty: "EC-HSM", crv: "P-256" } },
  { label: "get k1", method: "GET", path: `/keys/k1/?${API}` },
  { label: "get k3", method: "GET", path: `/keys/k3/?${API}` },
  { label: "sign k1", method: "POST", path: `/keys/k1//sign?${API}`, body: { alg: "RS256", value: DIGEST } },
  { label: "sign k3", method: "POST", path: `/keys/k3//sign?${API}`, body: { alg: "RS256", value: DIGEST } },
  { label: "list keys", method: "GET", path: `/keys?${API}` },
  { label: "list deleted", method: "GET", path: `/deletedkeys?${API}` },
  { label: "get deleted k2", method: "GET", path: `/deletedkeys/k2?${API}` },
  { label: "rng", method: "POST", path: `/rng?${API}`, body: { count: 8 } },
  { label: "list assignments", method: "GET", path: `///providers/Microsoft.Authorization/roleAssignments?${API}` },
  { label: "list definitions", method: "GET", path: `///providers/Microsoft.Authorization/roleDefinitions?${API}` },
];

// 200/201 = allowed, 403 = denied. Roles as the real Managed HSM defines them: Crypto Officer manages RBAC
// and deleted keys but cannot use or create keys; Crypto User creates and uses keys; Auditor reads.
const expected: Record<keyof typeof principals, Record<string, number>> = {
  officer: { "create k1 version": 403, "create k4": 403, "get k1": 403, "get k3": 403, "sign k1": 403, "sign k3": 403, "list keys": 403, "list deleted": 200, "get deleted k2": 200, rng: 403, "list assignments": 200, "list definitions": 200 },
  user: { "create k1 version": 200, "create k4": 200, "get k1": 200, "get k3": 200, "sign k1": 200, "sign k3": 200, "list keys": 200, "list deleted": 403, "get deleted k2": 403, rng: 200, "list assignments": 200, "list definitions": 200 },
  auditor: { "create k1 version": 403, "create k4": 403, "get k1": 200, "get k3": 200, "sign k1": 403, "sign k3": 403, "list keys": 200, "list deleted": 200, "get deleted k2": 200, rng: 403, "list assignments": 403, "list definitions": 403 },
  policyAdmin: { "create k1 version": 403, "create k4": 403, "get k1": 403, "get k3": 403, "sign k1": 403, "sign k3": 403, "list keys": 403, "list deleted": 403, "get deleted k2": 403, rng: 403, "list assignments": 200, "list definitions": 200 },
  none: { "create k1 version": 403, "create k4": 403, "get k1": 403, "get k3": 403, "sign k1": 403, "sign k3": 403, "list keys": 403, "list deleted": 403, "get deleted k2": 403, rng: 403, "list assignments": 403, "list definitions": 403 },
  keyScoped: { "create k1 version": 200, "create k4": 403, "get k1": 200, "get k3": 403, "sign k1": 200, "sign k3": 403, "list keys": 403, "list deleted": 403, "get deleted k2": 403, rng: 403, "list assignments": 403, "list definitions": 403 },
};

describe("Managed HSM data-plane authorization matrix", () => {
  it.each(Object.keys(principals) as (keyof typeof principals)[])("%s gets exactly its role's operations", async (who) => {
    const actual: Record<string, number> = {};
    for (const op of ops) {
      const r = await emu.request("hsm1", op.method, op.path, { oid: principals[who], body: op.body });
      actual[op.label] = r.status;
      if (r.status === 403) {
        expect(r.body.error.code).toBe("Forbidden");
        expect(r.body.error.innererror.code).toBe("ForbiddenByRbac");
        expect(r.body.error.message).toMatch(/Action: 'Microsoft\.KeyVault\/managedHsm\/[a-zA-Z/]+'/);
      }
    }
    expect(actual).toEqual(expected[who]);
  });

  it("names the missing data action in the 403 and surfaces it as a RestError through the SDK", async () => {
    const e = await emu.keyClient("hsm1", principals.auditor).createRsaKey("nope").then(
      () => undefined,
      (err: unknown) => err as RestError,
    );
    expect(e).toBeInstanceOf(RestError);
    expect(e!.statusCode).toBe(403);
    expect(e!.code).toBe("Forbidden");
    expect(e!.message).toContain("Microsoft.KeyVault/managedHsm/keys/create");
  });

  it("revokes access when the assignment is deleted", async () => {
    const who = randomUUID();
    const name = await assign("hsm1", "///", HSM_ROLE_IDS.cryptoAuditor, who);
    expect((await emu.request("hsm1", "GET", `/keys/k1/?${API}`, { oid: who })).status).toBe(200);
    const del = await emu.request("hsm1", "DELETE", `///providers/Microsoft.Authorization/roleAssignments/${name}?${API}`);
    expect(del.status).toBe(200);
    expect(del.body.name).toBe(name);
    expect((await emu.request("hsm1", "GET", `/keys/k1/?${API}`, { oid: who })).status).toBe(403);
  });
});

describe("role definitions and assignments endpoints", () => {
  it("lists built-in definitions with their real ids and gets one", async () => {
    const list = await emu.request("hsm1", "GET", `///providers/Microsoft.Authorization/roleDefinitions?${API}`);
    expect(list.status).toBe(200);
    const names = list.body.value.map((d: { properties: { roleName: string } }) => d.properties.roleName);
    expect(names).toContain("Managed HSM Crypto User");
    const get = await emu.request("hsm1", "GET", `///providers/Microsoft.Authorization/roleDefinitions/${HSM_ROLE_IDS.cryptoUser}?${API}`);
    expect(get.body).toMatchObject({
      id: `Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/${HSM_ROLE_IDS.cryptoUser}`,
      name: HSM_ROLE_IDS.cryptoUser,
      type: "Microsoft.Authorization/roleDefinitions",
      properties: { roleName: "Managed HSM Crypto User", type: "AKVBuiltInRole", assignableScopes: ["/"] },
    });
    expect(get.body.properties.permissions[0].dataActions).toContain("Microsoft.KeyVault/managedHsm/keys/sign/action");
  });

  it("creates a custom role (201), assigns it, refuses deleting it while used, then deletes both", async () => {
    const roleId = randomUUID();
    const put = await emu.request("hsm1", "PUT", `///providers/Microsoft.Authorization/roleDefinitions/${roleId}?${API}`, {
      body: { properties: { roleName: "Signer only", description: "sign", type: "CustomRole", assignableScopes: ["/"], permissions: [{ dataActions: ["Microsoft.KeyVault/managedHsm/keys/sign/action"] }] } },
    });
    expect(put.status).toBe(201);
    expect(put.body.properties.type).toBe("CustomRole");
    const reuse = await emu.request("hsm1", "PUT", `///providers/Microsoft.Authorization/roleDefinitions/${HSM_ROLE_IDS.cryptoUser}?${API}`, {
      body: { properties: { roleName: "x", permissions: [] } },
    });
    expect(reuse.status).toBe(400);
    expect(reuse.body.error.message).toContain("built-in role");

    const who = randomUUID();
    const assignment = await assign("hsm1", "//keys/k1/", roleId, who);
    expect((await emu.request("hsm1", "POST", `/keys/k1//sign?${API}`, { oid: who, body: { alg: "RS256", value: DIGEST } })).status).toBe(200);
    expect((await emu.request("hsm1", "GET", `/keys/k1/?${API}`, { oid: who })).status).toBe(403);

    const atScope = await emu.request("hsm1", "GET", `//keys/k1/providers/Microsoft.Authorization/roleAssignments?${API}&$filter=atScope()`);
    const got = atScope.body.value.find((a: { name: string }) => a.name === assignment);
    expect(got).toMatchObject({ id: `/keys/k1/providers/Microsoft.Authorization/roleAssignments/${assignment}`, properties: { scope: "/keys/k1", principalId: who } });

    const inUse = await emu.request("hsm1", "DELETE", `///providers/Microsoft.Authorization/roleDefinitions/${roleId}?${API}`);
    expect(inUse.status).toBe(400);
    expect((await emu.request("hsm1", "DELETE", `//keys/k1/providers/Microsoft.Authorization/roleAssignments/${assignment}?${API}`)).status).toBe(200);
    expect((await emu.request("hsm1", "DELETE", `///providers/Microsoft.Authorization/roleDefinitions/${roleId}?${API}`)).status).toBe(200);
    expect((await emu.request("hsm1", "GET", `///providers/Microsoft.Authorization/roleDefinitions/${roleId}?${API}`)).status).toBe(404);
  });

  it("holds at most 50 custom role definitions per HSM; rewriting an existing one still works at the limit", async () => {
    const list = async (): Promise<string[]> => {
      const names: string[] = [];
      let next: string | undefined = `///providers/Microsoft.Authorization/roleDefinitions?${API}`;
      while (next !== undefined) {
        const page: { body: { value: Array<{ name: string; properties: { type: string } }>; nextLink?: string } } = await emu.request("hsm1", "GET", next);
        names.push(...page.body.value.filter((d) => d.properties.type === "CustomRole").map((d) => d.name));
        next = page.body.nextLink ? new URL(page.body.nextLink).pathname.replace(/^\/+/, "///") + new URL(page.body.nextLink).search : undefined;
      }
      return names;
    };
    const body = (n: number) => ({ body: { properties: { roleName: `limit ${n}`, type: "CustomRole", assignableScopes: ["/"], permissions: [{ dataActions: ["Microsoft.KeyVault/managedHsm/keys/read/action"] }] } } });
    const created: string[] = [];
    for (let n = (await list()).length; n < 50; n++) {
      const id = randomUUID();
      expect((await emu.request("hsm1", "PUT", `///providers/Microsoft.Authorization/roleDefinitions/${id}?${API}`, body(n))).status).toBe(201);
      created.push(id);
    }
    const over = await emu.request("hsm1", "PUT", `///providers/Microsoft.Authorization/roleDefinitions/${randomUUID()}?${API}`, body(51));
    expect(over.status).toBe(400);
    expect(over.body.error.message).toContain("at most 50 custom role definitions");
    expect(await list()).toHaveLength(50);
    expect((await emu.request("hsm1", "PUT", `///providers/Microsoft.Authorization/roleDefinitions/${created[0]}?${API}`, body(99))).status).toBe(201);
    for (const id of created) expect((await emu.request("hsm1", "DELETE", `///providers/Microsoft.Authorization/roleDefinitions/${id}?${API}`)).status).toBe(200);
  });

  it("rejects an unknown role definition and a bad scope with 400, changing nothing", async () => {
    const before = (await emu.request("hsm1", "GET", `///providers/Microsoft.Authorization/roleAssignments?${API}`)).body.value.length;
    const unknown = await emu.request("hsm1", "PUT", `///providers/Microsoft.Authorization/roleAssignments/${randomUUID()}?${API}`, {
      body: { properties: { roleDefinitionId: randomUUID(), principalId: "p" } },
    });
    expect(unknown.status).toBe(400);
    const badScope = await emu.request("hsm1", "PUT", `//secrets/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}?${API}`, {
      body: { properties: { roleDefinitionId: HSM_ROLE_IDS.cryptoUser, principalId: "p" } },
    });
    expect(badScope.status).toBe(400);
    expect((await emu.request("hsm1", "GET", `///providers/Microsoft.Authorization/roleAssignments?${API}`)).body.value.length).toBe(before);
  });

  it("seeds --admin with Administrator, Crypto Officer and Crypto User at / (vault: Key Vault Administrator)", async () => {
    const hsm = await emu.request("hsm1", "GET", `///providers/Microsoft.Authorization/roleAssignments?${API}&$filter=principalId eq '${"00000000-aaaa-4000-8000-000000000001"}'`);
    const roles = hsm.body.value.map((a: { properties: { roleDefinitionId: string } }) => a.properties.roleDefinitionId.split("/").pop()).sort();
    expect(roles).toEqual([HSM_ROLE_IDS.administrator, HSM_ROLE_IDS.cryptoOfficer, HSM_ROLE_IDS.cryptoUser].sort());
    const vault = await emu.request("vault1", "GET", `///providers/Microsoft.Authorization/roleAssignments?${API}`);
    expect(vault.body.value.map((a: { properties: { roleDefinitionId: string } }) => a.properties.roleDefinitionId.split("/").pop())).toEqual([VAULT_ROLE_IDS.administrator]);
  });
});

describe("vault built-in roles", () => {
  it("Key Vault Crypto User signs but cannot create; Crypto Officer creates; Reader reads only", async () => {
    const user = randomUUID();
    const officer = randomUUID();
    const reader = randomUUID();
    await assign("vault1", "///", VAULT_ROLE_IDS.cryptoUser, user);
    await assign("vault1", "///", VAULT_ROLE_IDS.cryptoOfficer, officer);
    await assign("vault1", "///", VAULT_ROLE_IDS.reader, reader);
    expect((await emu.request("vault1", "POST", `/keys/vk/create?${API}`, { oid: officer, body: { kty: "RSA" } })).status).toBe(200);
    const denied = await emu.request("vault1", "POST", `/keys/vk/create?${API}`, { oid: user, body: { kty: "RSA" } });
    expect(denied.status).toBe(403);
    expect(denied.body.error.message).toContain("Microsoft.KeyVault/vaults/keys/create/action");
    expect((await emu.request("vault1", "POST", `/keys/vk//sign?${API}`, { oid: user, body: { alg: "RS256", value: DIGEST } })).status).toBe(200);
    expect((await emu.request("vault1", "GET", `/keys/vk/?${API}`, { oid: reader })).status).toBe(200);
    expect((await emu.request("vault1", "POST", `/keys/vk//sign?${API}`, { oid: reader, body: { alg: "RS256", value: DIGEST } })).status).toBe(403);
    expect((await emu.request("vault1", "GET", `/keys/vk/rotationpolicy?${API}`, { oid: user })).status).toBe(403);
    expect((await emu.request("vault1", "GET", `/keys/vk/rotationpolicy?${API}`, { oid: officer })).status).toBe(200);
  });
});
