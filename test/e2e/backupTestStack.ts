/**
 * The local stack (dev/localStack.ts) as the backup e2e tests use it: in-memory Azurite behind the storage
 * gate (cut or hold storage), two keys on the primary HSM, and this app in a runner whose timers fire only
 * when a test says so (`dist/functions/*.js`: build first). The app runs as the backup workflow's identity
 * with the stack's least-privilege roles (`rbac plan`): HSM Lifecycle Backup at "/" — nothing else.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { DurableClient } from "durable-functions";
import { KeyClient } from "@azure/keyvault-keys";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { startLocalStack, type LocalStack } from "../../dev/localStack";
import type { StorageGate } from "../../dev/storageGate";
import type { Runner } from "../../runner/index";
import { durableClientFor } from "../runner/durableClientFor";

export interface BackupTestStack {
  local: LocalStack;
  /** Storage as the HSM and the app see it. */
  gate: StorageGate;
  runner: Runner;
  hsmUrl: string;
  backupIdentity: string;
  backupContainer: string;
  backups(): ContainerClient;
  audit(): ContainerClient;
  /** A durable client on the runner (what the timer gets), for driving the starter with a simulated night. */
  durableClient(): DurableClient;
  /** An `/_emulator/…` control call on the primary HSM. */
  control(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

export interface BackupTestStackOptions {
  clock: "virtual" | "real";
  /** App settings that win over the stack's. */
  settings?: Record<string, string>;
}

export async function startBackupTestStack(options: BackupTestStackOptions): Promise<BackupTestStack> {
  const stateDir = mkdtempSync(path.join(tmpdir(), "backup-e2e-"));
  let local: LocalStack | undefined;
  try {
    local = await startLocalStack({
      stateDir,
      azuriteInMemory: true,
      storageGate: true,
      runner: { clock: options.clock, port: 0, scheduleTimers: false },
      ...(options.settings ? { settingsOverrides: options.settings } : {}),
    });
    const keys = new KeyClient(local.urls.primary, local.adminCredential, local.clientOptions());
    await keys.createRsaKey("payments-signer", { tags: { owner: "payments" } });
    await keys.createEcKey("api-ec", { curve: "P-256" });
    const { runner, storageGate } = local;
    if (runner === undefined || storageGate === undefined) throw new Error("the local stack started without its runner or storage gate");
    const stack = local;
    const blob = BlobServiceClient.fromConnectionString(stack.storageConnectionString);
    const container = (setting: string): ContainerClient => blob.getContainerClient(stack.settings[setting]!);
    return {
      local: stack,
      gate: storageGate,
      runner,
      hsmUrl: stack.urls.primary,
      backupIdentity: stack.identities.backup,
      backupContainer: stack.settings["BACKUP_CONTAINER"]!,
      backups: () => container("BACKUP_CONTAINER"),
      audit: () => container("AUDIT_CONTAINER"),
      durableClient: () => durableClientFor(runner.durableClientData),
      control: (method, p, body) => stack.control("primary", method, p, body),
      close: async () => {
        await stack.close();
        rmSync(stateDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await local?.close().catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
    throw error;
  }
}

/** Every blob name under a prefix, sorted. */
export async function blobNames(container: ContainerClient, prefix = ""): Promise<string[]> {
  const names: string[] = [];
  for await (const b of container.listBlobsFlat({ prefix })) names.push(b.name);
  return names.sort();
}
