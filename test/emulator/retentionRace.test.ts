/**
 * Retention against a drill choosing the same backup, with the interleaving forced step by step (gates on the real
 * Azurite calls of both sides, no timing): retention marks the backup `retiring`, then reads the holds; a drill
 * writes its hold, then checks for `retiring`. Whatever the order, the backup a drill holds is never deleted and a
 * drill never holds a backup retention deletes. Also: a running backup's hold keeps its folder from folder cleanup.
 */
import { randomUUID } from "node:crypto";
import type { BlobClient, BlockBlobClient, ContainerClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAzurite, type AzuriteBlob } from "../support/azurite";
import { TEST_MANIFEST_KEY } from "../support/manifestKey";
import { createBackupDeps, type BackupDeps } from "../../shared/backup/backupDeps";
import { applyBackupRetention } from "../../shared/backup/activities/retentionApply";
import { manifestBlobName } from "../../shared/backup/backupManifest";
import { backupHoldBlobName } from "../../shared/backup/backupHolds";
import { listBackupRecords } from "../../shared/backup/listBackupRecords";
import { manifestAuthenticator } from "../../shared/backup/manifestAuthenticator";
import { manifestMacKeys, recordMac, verifiedMac } from "../../shared/backup/manifestTrust";
import { releaseRunningBackupHold, writeRunningBackupHold } from "../../shared/backup/runningBackupHolds";
import { blobBackupCandidateSource } from "../../shared/drill/blobBackupCandidateSource";

const auth = manifestAuthenticator(TEST_MANIFEST_KEY);
const NOW = new Date("2026-12-06T03:00:00.000Z");
const POLICY = { daily: 1, weekly: 0, monthly: 0 };
let azurite: AzuriteBlob;

beforeAll(async () => {
  azurite = await startAzurite();
}, 60_000);

afterAll(async () => {
  await azurite?.stop();
});

/** A promise with its resolve, for gating one side on the other. */
function gate(): { opened: Promise<void>; open(): void } {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { opened, open };
}

/** Fresh containers per test and an authentic verified backup completed `daysAgo` before NOW. */
async function world(): Promise<{ backups: ContainerClient; holds: ContainerClient; backup(daysAgo: number): Promise<string> }> {
  const service = azurite.blobServiceClient();
  const backups = service.getContainerClient(`b${randomUUID().slice(0, 8)}`);
  const holds = service.getContainerClient(`r${randomUUID().slice(0, 8)}`);
  await backups.create();
  await holds.create();
  return {
    backups,
    holds,
    async backup(daysAgo) {
      const completedAt = new Date(NOW.getTime() - daysAgo * 86_400_000).toISOString();
      const folder = `mhsm-primary-${completedAt.replace(/\D/g, "").slice(0, 16)}`;
      const jobId = randomUUID();
      await backups.getBlockBlobClient(`${folder}/keys/k1`).upload("sealed", 6);
      await backups.getBlockBlobClient(manifestBlobName(folder)).upload("{}", 2, {
        metadata: {
          hsmname: "primary",
          folder,
          jobid: jobId,
          completedat: completedAt,
          [manifestMacKeys.record]: recordMac(auth, { hsmName: "primary", folder, jobId, completedAt }),
          verifiedat: completedAt,
          [manifestMacKeys.verified]: verifiedMac(auth, folder, completedAt),
        },
      });
      return folder;
    },
  };
}

function retentionDeps(backups: ContainerClient, holds: ContainerClient): BackupDeps {
  const deps = createBackupDeps({
    credential: { getToken: async () => null },
    blobService: azurite.blobServiceClient(),
    settings: { hsms: [], adminJobTimeoutMs: 3_600_000, storage: { backupContainer: backups.containerName, backupAuth: "managedIdentity", manifestKey: TEST_MANIFEST_KEY } },
    now: () => NOW,
  });
  return { ...deps, backupContainer: backups, holdsContainer: holds };
}

/** `container` with one blob's calls wrapped: `wrap(method, call)` decides when the real call runs. */
function intercept(container: ContainerClient, blobName: string, wrap: (method: string, call: () => Promise<unknown>, args: unknown[]) => Promise<unknown>): ContainerClient {
  const wrapBlob = <T extends BlobClient>(blob: T): T =>
    new Proxy(blob, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => wrap(String(prop), () => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args), args);
      },
    });
  return new Proxy(container, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop === "getBlockBlobClient" || prop === "getBlobClient") {
        return (name: string) => {
          const blob = (value as (n: string) => BlockBlobClient).call(target, name);
          return name === blobName ? wrapBlob(blob) : blob;
        };
      }
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe("retention and a drill's hold on the same backup, interleaved step by step", () => {
  it("retention marks the backup retiring, then sees the hold a drill wrote meanwhile: it steps back and the drill keeps the backup", async () => {
    const w = await world();
    const gone = await w.backup(20); // expired, nobody holds it: deleted
    const victim = await w.backup(10); // expired, but a drill chooses it
    await w.backup(0); // the newest verified
    const steps: string[] = [];
    const drillChecked = gate();
    const retiringMarked = gate();
    const holdWritten = gate();
    const retentionDone = gate();

    // Retention's side: the retiring mark waits for the drill's first check; its hold read waits for the drill's hold.
    const retentionBackups = intercept(w.backups, manifestBlobName(victim), async (method, call, args) => {
      const retiring = method === "setMetadata" && (args[0] as Record<string, string>)["retiring"] !== undefined;
      if (retiring) await drillChecked.opened;
      const out = await call();
      if (retiring) {
        steps.push("retention: marked retiring");
        retiringMarked.open();
      }
      return out;
    });
    const retentionHolds = intercept(w.holds, backupHoldBlobName(victim), async (method, call) => {
      if (method !== "download") return call();
      await holdWritten.opened;
      const out = await call();
      steps.push("retention: read the hold");
      return out;
    });
    // The drill's side: its hold is written only once the backup is marked retiring; its re-check after retention ended.
    let drillReads = 0;
    const drillBackups = intercept(w.backups, manifestBlobName(victim), async (method, call) => {
      if (method !== "getProperties") return call();
      drillReads++;
      if (drillReads === 2) await retentionDone.opened;
      const out = await call();
      steps.push(drillReads === 1 ? "drill: checked the backup" : "drill: re-checked the backup");
      if (drillReads === 1) drillChecked.open();
      return out;
    });
    const drillHolds = intercept(w.holds, backupHoldBlobName(victim), async (method, call) => {
      if (method !== "upload") return call();
      await retiringMarked.opened;
      const out = await call();
      steps.push("drill: wrote its hold");
      holdWritten.open();
      return out;
    });
    const source = blobBackupCandidateSource(drillBackups, auth, undefined, drillHolds);

    const [held, retention] = await Promise.all([
      source.reference!("primary", victim, "drill:primary:dr:full:1", new Date(NOW.getTime() + 3_600_000)),
      applyBackupRetention({ policy: POLICY, now: NOW.toISOString(), dryRun: false, hsmName: "primary" }, retentionDeps(retentionBackups, retentionHolds)).finally(() => retentionDone.open()),
    ]);

    expect(steps).toEqual(["drill: checked the backup", "retention: marked retiring", "drill: wrote its hold", "retention: read the hold", "drill: re-checked the backup"]);
    expect(retention.deleted).toEqual([gone]);
    expect(held).toBe(true);
    const records = await listBackupRecords(w.backups, "primary", { auth });
    const kept = records.find((r) => r.folder === victim);
    expect(kept).toMatchObject({ verified: true });
    expect(kept?.retiring).toBeUndefined();
    expect(await w.backups.getBlockBlobClient(`${victim}/keys/k1`).exists()).toBe(true);
    expect(await w.backups.getBlockBlobClient(`${gone}/keys/k1`).exists()).toBe(false);
  });

  it("retention marks the backup retiring before the drill checks it: the drill holds nothing and picks another, retention deletes it", async () => {
    const w = await world();
    const victim = await w.backup(10);
    await w.backup(0);
    const retiringMarked = gate();
    const retentionBackups = intercept(w.backups, manifestBlobName(victim), async (method, call, args) => {
      const out = await call();
      if (method === "setMetadata" && (args[0] as Record<string, string>)["retiring"] !== undefined) retiringMarked.open();
      return out;
    });
    const drillBackups = intercept(w.backups, manifestBlobName(victim), async (method, call) => {
      if (method === "getProperties") await retiringMarked.opened;
      return call();
    });
    const source = blobBackupCandidateSource(drillBackups, auth, undefined, w.holds);

    const [held, retention] = await Promise.all([
      source.reference!("primary", victim, "drill:primary:dr:full:2", new Date(NOW.getTime() + 3_600_000)),
      applyBackupRetention({ policy: POLICY, now: NOW.toISOString(), dryRun: false, hsmName: "primary" }, retentionDeps(retentionBackups, w.holds)),
    ]);
    expect(held).toBe(false);
    expect(retention.deleted).toEqual([victim]);
    expect(await w.holds.getBlockBlobClient(backupHoldBlobName(victim)).exists()).toBe(false);
    expect(await w.backups.getBlockBlobClient(`${victim}/keys/k1`).exists()).toBe(false);
  });
});

describe("a running backup's hold on its folder", () => {
  it("keeps the folder the job is writing (no manifest yet) from folder cleanup; without the hold it is deleted", async () => {
    const w = await world();
    const stamp = (daysAgo: number): string => new Date(NOW.getTime() - daysAgo * 86_400_000).toISOString().replace(/\D/g, "").slice(0, 16);
    const writing = `mhsm-primary-${stamp(3)}`; // an adopted job's folder, older than the daily window
    await w.backups.getBlockBlobClient(`${writing}/keys/k1`).upload("sealed", 6);
    await w.backups.getBlockBlobClient(`mhsm-primary-${stamp(1)}/keys/k1`).upload("sealed", 6); // a newer leftover
    await writeRunningBackupHold(w.backups, { hsmName: "primary", referencedBy: "backup:primary:2026-12-06", since: new Date(NOW.getTime() - 4 * 86_400_000).toISOString(), referencedUntil: new Date(NOW.getTime() + 3_600_000).toISOString() });

    const held = await applyBackupRetention({ policy: POLICY, now: NOW.toISOString(), dryRun: false, hsmName: "primary" }, retentionDeps(w.backups, w.holds));
    expect(held.foldersDeleted).toEqual([]);
    expect(held.folders?.keep).toContainEqual({ folder: writing, reason: "held by the running backup backup:primary:2026-12-06 until its manifest is written" });

    expect(await releaseRunningBackupHold(w.backups, "primary", "backup:primary:other-run", NOW)).toBe(false); // not its hold
    expect(await releaseRunningBackupHold(w.backups, "primary", "backup:primary:2026-12-06", NOW)).toBe(true);
    const released = await applyBackupRetention({ policy: POLICY, now: NOW.toISOString(), dryRun: false, hsmName: "primary" }, retentionDeps(w.backups, w.holds));
    expect(released.foldersDeleted).toEqual([writing]);
  });
});
