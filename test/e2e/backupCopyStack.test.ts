/**
 * The local stack's immutable copy (`startLocalStack({ backupCopy: true })`, what `npm start` runs): Azurite serves
 * HTTPS with a certificate of the emulator's CA and checks bearer tokens (`--oauth basic`); BACKUP_COPY_CONTAINER_URL
 * is that HTTPS endpoint, which the backup identity reaches with its managed-identity token and the stack's CA —
 * and nothing reaches without a valid token or that trust. The plain endpoints keep working through the TLS bridge.
 * Needs `npx tsc -p tsconfig.json` first (the emulator child runs dist/emulator/main.js).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AnonymousCredential, BlobServiceClient, ContainerClient, type StoragePipelineOptions } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack, type LocalStack } from "../../dev/localStack";
import { STACK_CONTAINERS } from "../../dev/stackSettings";
import { loadSettings } from "../../shared/config/settings";

let stack: LocalStack;
let stateDir: string;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "backup-copy-stack-"));
  stack = await startLocalStack({ stateDir, azuriteInMemory: true, backupCopy: true });
}, 180_000);

afterAll(async () => {
  await stack?.close();
  if (stateDir !== undefined) rmSync(stateDir, { recursive: true, force: true });
});

const trusting = (ca: string): StoragePipelineOptions => ({ tlsOptions: { ca }, retryOptions: { maxTries: 1 } }) as StoragePipelineOptions;

describe("the immutable copy in the local stack", () => {
  it("points BACKUP_COPY_CONTAINER_URL at Azurite's HTTPS endpoint and keeps the other endpoints plain", async () => {
    expect(stack.backupCopy?.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/devstoreaccount1\/hsm-backup-copies$/);
    expect(stack.settings["BACKUP_COPY_CONTAINER_URL"]).toBe(stack.backupCopy?.url);
    expect(stack.azurite.blobEndpoint).toMatch(/^http:\/\//);
    // The app's own settings check takes it (BACKUP_COPY_CONTAINER_URL must be https everywhere).
    expect(loadSettings({ ...stack.settings }).storage.backupCopyContainerUrl).toBe(stack.backupCopy?.url);
    // Through the bridge, with the account key, as the HSMs and the tests use it.
    const plain = BlobServiceClient.fromConnectionString(stack.storageConnectionString);
    expect(await plain.getContainerClient(STACK_CONTAINERS.backups).exists()).toBe(true);
    expect(await plain.getContainerClient(stack.backupCopy!.container).exists()).toBe(true);
  });

  it("lets the backup identity write and read copies over HTTPS with its managed-identity token", async () => {
    const copies = new ContainerClient(stack.backupCopy!.url, stack.managedIdentityCredential("backup"), trusting(stack.caPem));
    await copies.getBlockBlobClient("probe/one.txt").upload("copy", 4);
    expect((await copies.getBlobClient("probe/one.txt").downloadToBuffer()).toString()).toBe("copy");
    const seen: string[] = [];
    for await (const b of BlobServiceClient.fromConnectionString(stack.storageConnectionString).getContainerClient(stack.backupCopy!.container).listBlobsFlat({ prefix: "probe/" })) seen.push(b.name);
    expect(seen).toEqual(["probe/one.txt"]);
  });

  it("refuses a request without a token, a token for another audience, and a client that does not trust the stack's CA", async () => {
    // Azurite's OAuth check is on: the backup identity's token for Key Vault is not a storage token.
    const identity = stack.managedIdentityCredential("backup");
    const vaultToken = { getToken: () => identity.getToken("https://vault.azure.net/.default") };
    const wrongAudience = new ContainerClient(stack.backupCopy!.url, vaultToken, trusting(stack.caPem));
    await expect(wrongAudience.getBlockBlobClient("probe/vault.txt").upload("x", 1)).rejects.toMatchObject({ statusCode: 403, code: "AuthenticationFailed" });
    const anonymous = new ContainerClient(stack.backupCopy!.url, new AnonymousCredential(), trusting(stack.caPem));
    await expect(anonymous.getBlockBlobClient("probe/anon.txt").upload("x", 1)).rejects.toMatchObject({ statusCode: expect.any(Number) });
    const untrusting = new ContainerClient(stack.backupCopy!.url, stack.managedIdentityCredential("backup"), { retryOptions: { maxTries: 1 } });
    await expect(untrusting.getBlockBlobClient("probe/untrusted.txt").upload("x", 1)).rejects.toThrow(/certificate|self[- ]signed|issuer/i);
  });
});
