/**
 * Managed HSM local RBAC through the shared access-control client: role definitions and assignments, and
 * the matrix of built-in roles × representative admin and data-plane operations (allowed or 403) as
 * Microsoft documents them (managed-hsm-api.md §3.5/§3.6), including backup/restore via the backup client
 * and a key-scoped assignment that reaches only its key.
 */
import { createHash, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CryptographyClient, KeyClient } from "@azure/keyvault-keys";
import { RestError } from "@azure/core-rest-pipeline";
import { startEmulator, type RunningEmulator } from "../../emulator/index";
import { KeyVaultBackupClient } from "../../shared/hsm/keyVaultBackupClient";
import { KeyVaultAccessControlClient } from "../../shared/hsm/keyVaultAccessControlClient";
import { KnownManagedHsmRoleDefinitionIds as Roles } from "../../shared/hsm/keyVaultAccessControlClientModels";
import { startAzurite, type AzuriteBlob } from "../support/azurite";

const ADMIN = "0a0a0a0a-0000-4000-8000-00000000ad01";
const CONTAINER = "rbac-backups";
const POLL = { updateIntervalInMs: 25 };
const HSM = "Microsoft.KeyVault/managedHsm/";

type RoleName = keyof typeof Roles;
const MATRIX_ROLES: RoleName[] = [
  "Administrator",
  "CryptoOfficer",
  "CryptoUser",
  "CryptoAuditor",
  "PolicyAdministrator",
  "CryptoServiceEncryptionUser",
  "Backup",
  "Restore",
];
/** One principal per built-in role, assigned at "/". */
const principalOf = (role: RoleName): string => `00000000-0000-4000-8000-${(MATRIX_ROLES.indexOf(role) + 1).toString().padStart(12, "0")}`;

let azurite: AzuriteBlob;
let emu: RunningEmulator;
let stateDir: string;
let hsmUrl = "";

const options = (): { tlsOptions: { ca: string }; disableChallengeResourceVerification: true; retryOptions: { maxRetries: number } } => ({
  tlsOptions: { ca: emu.caPem },
  disableChallengeResourceVerification: true,
  retryOptions: { maxRetries: 0 },
});
const rbac = (oid: string): KeyVaultAccessControlClient => new KeyVaultAccessControlClient(hsmUrl, emu.credential(oid), options());
const backups = (oid: string): KeyVaultBackupClient => new KeyVaultBackupClient(hsmUrl, emu.credential(oid), options());
const keys = (oid: string): KeyClient => new KeyClient(hsmUrl, emu.credential(oid), options());
const crypto = async (oid: string, name: string): Promise<CryptographyClient> =>
  new CryptographyClient((await keys(ADMIN).getKey(name)).id as string, emu.credential(oid), options());

/** Runs one operation as a principal: "denied" on 403 Forbidden (checked to name the data action), else "allowed". */
async function attempt(op: Operation, oid: string): Promise<"allowed" | "denied"> {
  try {
    await op.run(oid);
    return "allowed";
  } catch (error) {
    if (error instanceof RestError && error.statusCode === 403) {
      // keyvault-keys' pager rethrows list errors as "Pagination failed with unexpected statusCode 403"
      // without the body, so only single-response operations can show the message.
      if (!op.pagedBySdk) {
        expect(error.code).toBe("Forbidden");
        expect(error.message).toContain(HSM + op.action);
      }
      return "denied";
    }
    if (error instanceof RestError) return "allowed"; // authorized, then refused for another reason (e.g. a rule)
    throw error;
  }
}

/** Starts a job and waits for it to end (whatever the outcome), so no job is left running. */
async function runJob(begin: Promise<{ pollUntilDone(): Promise<unknown> }>): Promise<void> {
  const poller = await begin;
  await poller.pollUntilDone().catch(() => undefined);
}

interface Operation {
  name: string;
  /** Data action the denial must name (without the managedHsm prefix). */
  action: string;
  /** Roles Microsoft documents as allowed. */
  allowed: RoleName[];
  /** A keyvault-keys list call (its pager drops the error body). */
  pagedBySdk?: boolean;
  run(oid: string): Promise<unknown>;
}

const missingFolder = (): string => `${azurite.containerUrl(CONTAINER)}/mhsm-rbac-2026112300000000`;

const OPERATIONS: Operation[] = [
  {
    name: "full restore (beginRestore)",
    action: "restore/start/action",
    allowed: ["Administrator", "Restore"],
    run: (oid) => runJob(backups(oid).beginRestore(missingFolder(), POLL)),
  },
  {
    name: "selective key restore (beginSelectiveKeyRestore)",
    action: "restore/start/action",
    allowed: ["Administrator", "Restore"],
    run: (oid) => runJob(backups(oid).beginSelectiveKeyRestore("gone-key", missingFolder(), POLL)),
  },
  {
    name: "full backup (beginBackup, managed identity)",
    action: "backup/start/action",
    allowed: ["Administrator", "Backup"],
    run: (oid) => runJob(backups(oid).beginBackup(azurite.containerUrl(CONTAINER), POLL)),
  },
  {
    name: "create role assignment",
    action: "roleAssignments/write/action",
    allowed: ["Administrator", "CryptoOfficer", "PolicyAdministrator"],
    run: (oid) => rbac(oid).createRoleAssignment("/keys", randomUUID(), Roles.CryptoAuditor, randomUUID()),
  },
  {
    name: "list role assignments",
    action: "roleAssignments/read/action",
    allowed: ["Administrator", "CryptoOfficer", "CryptoUser", "CryptoAuditor", "PolicyAdministrator"],
    run: async (oid) => {
      for await (const _ of rbac(oid).listRoleAssignments("/")) break;
    },
  },
  {
    name: "delete role assignment",
    action: "roleAssignments/delete/action",
    allowed: ["Administrator", "CryptoOfficer", "PolicyAdministrator"],
    run: async (oid) => {
      const name = randomUUID();
      await rbac(ADMIN).createRoleAssignment("/", name, Roles.CryptoAuditor, randomUUID());
      try {
        await rbac(oid).deleteRoleAssignment("/", name);
      } finally {
        await rbac(ADMIN).deleteRoleAssignment("/", name);
      }
    },
  },
  {
    name: "create custom role definition",
    action: "roleDefinitions/write/action",
    allowed: ["Administrator", "CryptoOfficer", "PolicyAdministrator"],
    run: (oid) => rbac(oid).setRoleDefinition("/", { roleName: `custom-${randomUUID()}`, permissions: [{ dataActions: [HSM + "keys/read/action"] }] }),
  },
  {
    name: "list role definitions",
    action: "roleDefinitions/read/action",
    allowed: ["Administrator", "CryptoOfficer", "CryptoUser", "CryptoAuditor", "PolicyAdministrator"],
    run: async (oid) => {
      for await (const _ of rbac(oid).listRoleDefinitions("/")) break;
    },
  },
  {
    name: "get key",
    action: "keys/read/action",
    allowed: ["CryptoUser", "CryptoAuditor", "CryptoServiceEncryptionUser"],
    run: (oid) => keys(oid).getKey("matrix-key"),
  },
  {
    name: "create key",
    action: "keys/create",
    allowed: ["CryptoUser"],
    run: (oid) => keys(oid).createRsaKey(`created-${oid.slice(-4)}`),
  },
  {
    name: "sign",
    action: "keys/sign/action",
    allowed: ["CryptoUser"],
    run: async (oid) => (await crypto(oid, "matrix-key")).sign("RS256", createHash("sha256").update("x").digest()),
  },
  {
    name: "wrap key (RSA-OAEP-256, remote)",
    action: "keys/wrap/action",
    allowed: ["CryptoUser", "CryptoServiceEncryptionUser"],
    run: async (oid) => (await crypto(oid, "matrix-key")).wrapKey("RSA-OAEP-256", Buffer.alloc(32, 7)),
  },
  {
    name: "list deleted keys",
    action: "keys/deletedKeys/read/action",
    allowed: ["CryptoOfficer", "CryptoAuditor"],
    pagedBySdk: true,
    run: async (oid) => {
      for await (const _ of keys(oid).listDeletedKeys()) break;
    },
  },
  {
    name: "single-key backup",
    action: "keys/backup/action",
    allowed: ["CryptoUser", "Backup"],
    run: (oid) => keys(oid).backupKey("matrix-key"),
  },
];

beforeAll(async () => {
  azurite = await startAzurite();
  await azurite.blobServiceClient().createContainer(CONTAINER);
  stateDir = mkdtempSync(join(tmpdir(), "hsm-rbac-"));
  emu = await startEmulator({
    stateDir,
    instances: [{ kind: "managedHsm", name: "rbac", port: 0 }],
    admins: [ADMIN],
    blobConnectionString: azurite.connectionString,
    tickIntervalMs: 60_000,
    log: () => undefined,
  });
  hsmUrl = emu.instances.rbac!.url;
  await keys(ADMIN).createRsaKey("matrix-key", { keyOps: ["sign", "verify", "wrapKey", "unwrapKey", "encrypt", "decrypt"] });
  for (const role of MATRIX_ROLES) {
    await rbac(ADMIN).createRoleAssignment("/", randomUUID(), Roles[role], principalOf(role));
  }
});

afterAll(async () => {
  await emu?.close();
  await azurite?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe("role definitions and assignments through KeyVaultAccessControlClient", () => {
  it("lists the built-in Managed HSM roles with their real ids", async () => {
    const definitions = new Map<string, string | undefined>();
    for await (const d of rbac(ADMIN).listRoleDefinitions("/")) definitions.set(d.name, d.roleName);
    expect(definitions.get(Roles.Administrator)).toBe("Managed HSM Administrator");
    expect(definitions.get(Roles.CryptoUser)).toBe("Managed HSM Crypto User");
    expect(definitions.get(Roles.Backup)).toMatch(/^Managed HSM Backup/);
    expect(definitions.get(Roles.Restore)).toMatch(/^Managed HSM Restore/);
    const user = await rbac(ADMIN).getRoleDefinition("/", Roles.CryptoUser);
    expect(user.roleType).toBe("AKVBuiltInRole");
    expect(user.kind).toBe("Microsoft.Authorization/roleDefinitions");
    expect(user.permissions[0]?.dataActions).toContain(HSM + "keys/sign/action");
  });

  it("creates (201), gets, lists, and deletes a role assignment; a second delete is not an error", async () => {
    const name = randomUUID();
    const principal = randomUUID();
    const created = await rbac(ADMIN).createRoleAssignment("/keys", name, Roles.CryptoAuditor, principal);
    expect(created).toMatchObject({ name, kind: "Microsoft.Authorization/roleAssignments", properties: { scope: "/keys", principalId: principal } });
    expect(created.properties.roleDefinitionId).toMatch(new RegExp(`${Roles.CryptoAuditor}$`));
    expect((await rbac(ADMIN).getRoleAssignment("/keys", name)).properties.principalId).toBe(principal);
    const listed: string[] = [];
    for await (const a of rbac(ADMIN).listRoleAssignments("/", { filter: `principalId eq '${principal}'` })) listed.push(a.name);
    expect(listed).toEqual([name]);
    await rbac(ADMIN).deleteRoleAssignment("/keys", name);
    await rbac(ADMIN).deleteRoleAssignment("/keys", name);
    await expect(rbac(ADMIN).getRoleAssignment("/keys", name)).rejects.toMatchObject({ statusCode: 404 });
  });

  it("creates, reads and deletes a custom role definition; built-in ids cannot be reused", async () => {
    const name = randomUUID();
    const custom = await rbac(ADMIN).setRoleDefinition("/", {
      roleDefinitionName: name,
      roleName: "Key reader (custom)",
      description: "reads keys",
      permissions: [{ dataActions: [HSM + "keys/read/action"] }],
    });
    expect(custom).toMatchObject({ name, roleName: "Key reader (custom)", roleType: "CustomRole", assignableScopes: ["/"] });
    expect((await rbac(ADMIN).getRoleDefinition("/", name)).description).toBe("reads keys");
    await expect(rbac(ADMIN).setRoleDefinition("/", { roleDefinitionName: Roles.CryptoUser, permissions: [] })).rejects.toMatchObject({
      statusCode: 400,
      message: expect.stringMatching(/built-in role/),
    });
    await rbac(ADMIN).deleteRoleDefinition("/", name);
    await expect(rbac(ADMIN).getRoleDefinition("/", name)).rejects.toMatchObject({ statusCode: 404 });
  });
});

describe("built-in role matrix", () => {
  for (const op of OPERATIONS) {
    it(`${op.name}: allowed for ${op.allowed.join(", ")} only`, async () => {
      const allowed: RoleName[] = [];
      for (const role of MATRIX_ROLES) {
        if ((await attempt(op, principalOf(role))) === "allowed") allowed.push(role);
      }
      expect(allowed).toEqual(MATRIX_ROLES.filter((r) => op.allowed.includes(r)));
    });
  }

  it("a principal with no role assignment is denied admin operations", async () => {
    const nobody = randomUUID();
    for (const op of OPERATIONS.slice(0, 4)) expect(await attempt(op, nobody)).toBe("denied");
  });

  it("a key-scoped assignment reaches only its key", async () => {
    const scoped = randomUUID();
    await keys(ADMIN).createRsaKey("scoped-a");
    await keys(ADMIN).createRsaKey("scoped-b");
    await rbac(ADMIN).createRoleAssignment("/keys/scoped-a", randomUUID(), Roles.CryptoUser, scoped);
    expect((await keys(scoped).getKey("scoped-a")).name).toBe("scoped-a");
    const signature = await (await crypto(scoped, "scoped-a")).sign("RS256", createHash("sha256").update("y").digest());
    expect(signature.result.length).toBe(256);
    await expect(keys(scoped).getKey("scoped-b")).rejects.toMatchObject({ statusCode: 403, code: "Forbidden" });
    await expect((await crypto(scoped, "scoped-b")).sign("RS256", createHash("sha256").update("y").digest())).rejects.toMatchObject({ statusCode: 403 });
    await expect(runJob(backups(scoped).beginBackup(azurite.containerUrl(CONTAINER), POLL))).rejects.toMatchObject({ statusCode: 403 });
  });
});
