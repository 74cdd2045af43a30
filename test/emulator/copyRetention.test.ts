/**
 * Retention for the copies (shared/backup/copyRetention.ts) on Azurite: a copy goes once its backup has gone from
 * the backup container, blobs and manifest; the copy of a kept backup, of a backup still in the backup container
 * (retention stepped back) and of another HSM's backup stays; a dry run deletes nothing. Azurite has no immutable
 * storage, so the copy container's refusal is the one thing served by a wrapper: the real container client whose
 * deletes answer what Azure answers under a WORM policy (409 BlobImmutableDueToPolicy), reported, not failed.
 */
import type { ContainerClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyCopyRetention } from "../../shared/backup/copyRetention";
import { manifestBlobName } from "../../shared/backup/backupManifest";
import { startAzurite, type AzuriteBlob } from "../support/azurite";

let azurite: AzuriteBlob;
let backups: ContainerClient;
let copies: ContainerClient;

const RETIRED = "mhsm-primary-2026010102000000";
const KEPT = "mhsm-primary-2026010202000000";
const STILL_THERE = "mhsm-primary-2026010302000000";
const OTHER_HSM = "mhsm-other-2026010102000000";

async function put(container: ContainerClient, folder: string): Promise<void> {
  for (const name of [`${folder}/manifest.json`, `${folder}/keys/k1`, manifestBlobName(folder)]) await container.getBlockBlobClient(name).upload("{}", 2);
}

async function names(container: ContainerClient): Promise<string[]> {
  const out: string[] = [];
  for await (const b of container.listBlobsFlat()) out.push(b.name);
  return out.sort();
}

beforeAll(async () => {
  azurite = await startAzurite();
  backups = azurite.blobServiceClient().getContainerClient("hsm-backups");
  copies = azurite.blobServiceClient().getContainerClient("hsm-backup-copies");
  await backups.create();
  await copies.create();
}, 60_000);

afterAll(async () => {
  await azurite?.stop();
});

describe("retention for the copies", () => {
  it("deletes the copy of a retired backup only, after a dry run that deletes nothing", async () => {
    for (const f of [RETIRED, KEPT, STILL_THERE, OTHER_HSM]) await put(copies, f);
    for (const f of [KEPT, STILL_THERE]) await put(backups, f);
    const keep = new Set([KEPT]);
    const before = await names(copies);
    expect(await applyCopyRetention(copies, backups, keep, { dryRun: true, hsmName: "primary" })).toEqual({ deleted: [RETIRED], retained: [] });
    expect(await names(copies)).toEqual(before);

    expect(await applyCopyRetention(copies, backups, keep, { dryRun: false, hsmName: "primary" })).toEqual({ deleted: [RETIRED], retained: [] });
    const left = await names(copies);
    expect(left.filter((n) => n.includes(RETIRED))).toEqual([]);
    for (const f of [KEPT, STILL_THERE, OTHER_HSM]) expect(left).toContain(manifestBlobName(f));
  });

  it("reports a copy immutable storage keeps, goes on with the next, and fails on any other refusal", async () => {
    const locked = "mhsm-primary-2026010402000000";
    const next = "mhsm-primary-2026010502000000";
    for (const f of [locked, next]) await put(copies, f);
    const worm = Object.create(copies) as ContainerClient;
    worm.deleteBlob = async (name, options) => {
      if (name.startsWith(`${locked}/`)) throw Object.assign(new Error("This operation is not permitted as the blob is immutable due to a policy."), { statusCode: 409, code: "BlobImmutableDueToPolicy" });
      return copies.deleteBlob(name, options);
    };
    const outcome = await applyCopyRetention(worm, backups, new Set([KEPT]), { dryRun: false, hsmName: "primary" });
    expect(outcome.deleted).toEqual([next]);
    expect(outcome.retained).toEqual([{ folder: locked, reason: expect.stringContaining("BlobImmutableDueToPolicy") }]);
    expect(await names(copies)).toContain(manifestBlobName(locked));

    const denied = Object.create(copies) as ContainerClient;
    denied.deleteBlob = async () => {
      throw Object.assign(new Error("This request is not authorized to perform this operation."), { statusCode: 403, code: "AuthorizationPermissionMismatch" });
    };
    await expect(applyCopyRetention(denied, backups, new Set([KEPT]), { dryRun: false, hsmName: "primary" })).rejects.toThrow(/deleting the copy of the retired backup/);
  });
});
