/**
 * The local stack (dev/localStack.ts): Azurite and the emulator as child processes, least-privilege role
 * assignments, settings, demo keys — exercised through the real ManagedIdentityCredential of each workflow
 * identity (the emulator's identity endpoint), real SDK clients and our admin clients over HTTPS.
 * Needs `npm run build` (the emulator child runs dist/emulator/main.js); `npm test` builds first.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KeyClient } from "@azure/keyvault-keys";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack, type LocalStack } from "../../dev/localStack";
import { STACK_CONTAINERS } from "../../dev/stackSettings";
import { settingsCatalog } from "../../shared/config/settingsCatalog";
import { KeyVaultBackupClient } from "../../shared/hsm/keyVaultBackupClient";
import { KeyVaultAccessControlClient } from "../../shared/hsm/keyVaultAccessControlClient";
import { triggerNames } from "../../shared/names";
import { plannedAssignments } from "../../dev/stackIdentities";
import { HSM_DRILL_DR_ROLE, HSM_DRILL_PROBE_ROLE, HSM_EVIDENCE_SIGNER_ROLE } from "../../shared/rbac/lifecycleRoles";
import { rawHttpsRequest } from "../support/emulator";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function names(client: KeyClient): Promise<string[]> {
  const out: string[] = [];
  for await (const p of client.listPropertiesOfKeys()) out.push(p.name);
  return out.sort();
}

describe("startLocalStack", () => {
  let stack: LocalStack;
  let stateDir: string;
  const progress: string[] = [];

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), "local-stack-"));
    // The runner with the real app (dist/functions), virtual clock, timers only when fired.
    stack = await startLocalStack({
      stateDir,
      demoKeys: true,
      azuriteInMemory: true,
      runner: { clock: "virtual", scheduleTimers: false, startupTimers: false },
      log: (l) => progress.push(l),
    });
  });

  afterAll(async () => {
    await stack?.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("starts Azurite and the emulator as live child processes and reports progress", () => {
    expect(stack.childPids()).toHaveLength(2);
    for (const pid of stack.childPids()) expect(alive(pid)).toBe(true);
    expect(Object.keys(stack.ready.instances).sort()).toEqual(["app", "dr", "lifecycle", "primary"]);
    expect(stack.identityEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/msi\/token$/);
    const planned = plannedAssignments({ primary: "primary", dr: "dr", vault: "app" }).length;
    expect(progress.some((l) => l.startsWith(`rbac: ${planned} role assignments in place (${planned} added)`))).toBe(true);
    expect(progress.some((l) => l.startsWith("keys: demo keys created"))).toBe(true);
  });

  it("writes every catalogue setting plus the identity endpoint into a 0600 local.settings.json", () => {
    const file = JSON.parse(readFileSync(stack.settingsFile, "utf8")) as { Values: Record<string, string> };
    expect(statSync(stack.settingsFile).mode & 0o077).toBe(0);
    for (const spec of settingsCatalog) expect(Object.keys(file.Values)).toContain(spec.key);
    expect(file.Values).toMatchObject({
      HSMS: `primary=${stack.urls.primary},dr=${stack.urls.dr}`,
      VAULTS: `app=${stack.urls.vault}`,
      DRILL_PAIRS: "primary=dr",
      HSM_TLS_CA_FILE: stack.caFile,
      HSM_EMULATOR: "true",
      LIFECYCLE_TOPIC_ENDPOINT: stack.topicEndpoint,
      IDENTITY_ENDPOINT: stack.identityEndpoint,
      IDENTITY_HEADER: readFileSync(stack.ready.identity!.headerFile, "utf8").trim(),
      ROTATION_IDENTITY_CLIENT_ID: stack.identities.rotation,
      BACKUP_IDENTITY_CLIENT_ID: stack.identities.backup,
      DRILL_IDENTITY_CLIENT_ID: stack.identities.drill,
      DR_STEWARD_IDENTITY_CLIENT_ID: stack.identities.steward,
      RECOVERY_IDENTITY_CLIENT_ID: stack.identities.recovery,
      RBAC_ADMIN_CLIENT_ID: "", // the operator gets a managed identity only with operatorManagedIdentity
      STORAGE_CONNECTION_STRING: stack.storageConnectionString,
    });
    const policy = JSON.parse(readFileSync(file.Values["ROTATION_POLICY_FILE"]!, "utf8")) as { rules: Array<{ instances?: string[] }> };
    expect(policy.rules.flatMap((r) => r.instances ?? [])).toEqual(expect.arrayContaining(["primary", "app"]));
  });

  it("the rotation identity lists keys on primary and the vault, but cannot start a backup (403)", async () => {
    const credential = stack.managedIdentityCredential("rotation");
    const keys = await names(new KeyClient(stack.urls.primary, credential, stack.clientOptions()));
    expect(keys).toEqual(["archive-encrypt", "data-wrap", "legacy-export", "pay-signing", "token-signing"]);
    expect(await names(new KeyClient(stack.urls.vault, credential, stack.clientOptions()))).toEqual(["app-encrypt", "app-signing"]);
    const backup = new KeyVaultBackupClient(stack.urls.primary, credential, stack.clientOptions({ retryOptions: { maxRetries: 0 } }));
    await expect(backup.beginBackup(`${stack.azurite.blobEndpoint}/${STACK_CONTAINERS.backups}`)).rejects.toMatchObject({ statusCode: 403 });
  });

  it("the backup identity backs up primary into Azurite, but cannot create keys or restore (primary or DR)", async () => {
    const credential = stack.managedIdentityCredential("backup");
    const client = new KeyVaultBackupClient(stack.urls.primary, credential, stack.clientOptions());
    const poller = await client.beginBackup(`${stack.azurite.blobEndpoint}/${STACK_CONTAINERS.backups}`, { intervalInMs: 100 });
    const result = await poller.pollUntilDone();
    expect(result.folderUri).toContain(`/${STACK_CONTAINERS.backups}/`);
    const folder = result.folderUri!.split(`/${STACK_CONTAINERS.backups}/`)[1]!;
    const blobs: string[] = [];
    const container = BlobServiceClient.fromConnectionString(stack.storageConnectionString).getContainerClient(STACK_CONTAINERS.backups);
    for await (const b of container.listBlobsFlat({ prefix: folder })) blobs.push(b.name);
    expect(blobs.length).toBeGreaterThan(0);

    const keys = new KeyClient(stack.urls.primary, credential, stack.clientOptions());
    expect(await names(keys)).toContain("pay-signing"); // Crypto Auditor: inventory for the manifest
    await expect(keys.createRsaKey("backup-should-not-create")).rejects.toMatchObject({ statusCode: 403 });
    // DR carries the primary's assignments (every full restore brings them), so backing DR up is allowed; restoring is not.
    for (const url of [stack.urls.primary, stack.urls.dr]) {
      const admin = new KeyVaultBackupClient(url, credential, stack.clientOptions({ retryOptions: { maxRetries: 0 } }));
      await expect(admin.beginRestore(result.folderUri!)).rejects.toMatchObject({ statusCode: 403 });
    }
  });

  it("the drill identity may back up the DR HSM but not the primary; its roles are readable to verify", async () => {
    const credential = stack.managedIdentityCredential("drill");
    const primary = new KeyVaultBackupClient(stack.urls.primary, credential, stack.clientOptions({ retryOptions: { maxRetries: 0 } }));
    await expect(primary.beginBackup(`${stack.azurite.blobEndpoint}/${STACK_CONTAINERS.backups}`)).rejects.toMatchObject({ statusCode: 403 });
    const dr = new KeyVaultBackupClient(stack.urls.dr, credential, stack.clientOptions());
    const done = await (await dr.beginBackup(`${stack.azurite.blobEndpoint}/${STACK_CONTAINERS.backups}`, { intervalInMs: 100 })).pollUntilDone();
    expect(done.folderUri).toContain("/hsm-backups/");
    const rbac = new KeyVaultAccessControlClient(stack.urls.dr, credential, stack.clientOptions());
    const mine: string[] = [];
    for await (const a of rbac.listRoleAssignments("/")) if (a.properties.principalId === stack.identities.drill) mine.push(a.properties.roleDefinitionId ?? "");
    // HSM Lifecycle Drill Probe and Evidence Signer (carried from the primary) and HSM Lifecycle Drill DR (DR only).
    expect(mine.map((id) => id.split("/").pop()).sort()).toEqual([HSM_DRILL_PROBE_ROLE.name, HSM_EVIDENCE_SIGNER_ROLE.name, HSM_DRILL_DR_ROLE.name].sort());
  });

  it("runs the app in-process with the stack's settings and routes vault key events to keyEventGrid", async () => {
    const runner = stack.runner!;
    expect(runner.functions).toEqual(expect.arrayContaining([triggerNames.keyEventGrid, triggerNames.rotationSweepTimer, triggerNames.backupTimer, triggerNames.drillTimer]));
    expect(process.env["HSMS"]).toBe(stack.settings["HSMS"]);
    const subs = (await rawHttpsRequest(stack.caPem, `${stack.urls.topic}/_emulator/eventgrid/subscriptions`, "GET")).body as { value: Array<{ name: string; source: string; endpoint: string; provisioningState: string }> };
    const mine = subs.value.filter((v) => v.endpoint.startsWith(`${runner.url}/runtime/webhooks/EventGrid?functionName=${triggerNames.keyEventGrid}`));
    expect(mine.map((v) => [v.source, v.provisioningState]).sort()).toEqual([
      ["app", "Succeeded"],
      ["lifecycle", "Succeeded"],
    ]);

    // A new version made on the vault by someone else → KeyNewVersionCreated → delivered to the app (2xx).
    await new KeyClient(stack.urls.vault, stack.adminCredential, stack.clientOptions()).createRsaKey("app-encrypt", { keySize: 2048, tags: { owner: "demo" } });
    const deadline = Date.now() + 30_000;
    let delivered: Array<{ subscription: string; eventType: string; status: number }> = [];
    while (Date.now() < deadline && delivered.length === 0) {
      await new Promise((r) => setTimeout(r, 200));
      const log = (await rawHttpsRequest(stack.caPem, `${stack.urls.topic}/_emulator/eventgrid/deliveries`, "GET")).body as { value: Array<{ subscription: string; eventType: string; status: number }> };
      delivered = log.value.filter((d) => d.subscription === "app-keys-to-runner" && d.eventType === "Microsoft.KeyVault.KeyNewVersionCreated" && d.status >= 200 && d.status < 300);
    }
    expect(delivered.length).toBeGreaterThan(0);
    await runner.waitForTerminal();
  });

  it("shiftClock moves one instance's time forward", async () => {
    expect(await stack.shiftClock("dr", 3600)).toBe(3600);
    await expect(stack.shiftClock("lifecycle", 1)).rejects.toThrow(/No HSM or vault "lifecycle"/);
  });

  it("close() stops every child; a second close is a no-op", async () => {
    const pids = stack.childPids();
    await stack.close();
    for (const pid of pids) expect(alive(pid), `pid ${pid} still alive`).toBe(false);
    await stack.close();
  });
});

describe("startLocalStack failing halfway", () => {
  it("stops what it started and names the cause", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "local-stack-fail-"));
    const progress: string[] = [];
    try {
      // The emulator's state dir is a file: the emulator child fails at start, after Azurite is up.
      writeFileSync(join(stateDir, "emulator"), "not a directory");
      await expect(startLocalStack({ stateDir, azuriteInMemory: true, log: (l) => progress.push(l) })).rejects.toThrow(/The emulator exited/);
      const azuritePid = Number(/\(pid (\d+)\)/.exec(progress.find((l) => l.startsWith("azurite: blob")) ?? "")?.[1]);
      expect(azuritePid).toBeGreaterThan(0);
      expect(alive(azuritePid)).toBe(false);
      expect(progress).toContain("azurite: stopped");
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
