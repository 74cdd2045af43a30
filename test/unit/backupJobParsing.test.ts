import { describe, expect, it } from "vitest";
import { classifyJobFailure } from "../../shared/backup/classifyJobFailure";
import { runningJobFromConflict } from "../../shared/backup/runningJobFromConflict";
import { backupRecordFromMetadata } from "../../shared/backup/manifestMetadata";

describe("runningJobFromConflict", () => {
  it("adopts only a running BACKUP job named in the emulator's 409 message", () => {
    const id = "0123456789abcdef0123456789abcdef";
    expect(runningJobFromConflict(`Another admin job is running on this HSM: backup job ${id} (started 2026-11-23T02:00:00.000Z; poll GET /backup/${id}/pending). Only one…`)).toEqual({ kind: "backup", jobId: id });
    expect(runningJobFromConflict(`Another admin job is running on this HSM: prebackup job ${id} (started …; poll GET /backup/${id}/pending).`)).toEqual({ kind: "other", jobId: id, description: `prebackup job ${id}` });
    expect(runningJobFromConflict(`Another admin job is running on this HSM: restore job ${id} (…)`)).toMatchObject({ kind: "other" });
  });

  it("falls back to a status link header, and to unknown", () => {
    expect(runningJobFromConflict("Conflict", { "azure-asyncoperation": "https://h/backup/abcdef0123/pending" })).toEqual({ kind: "backup", jobId: "abcdef0123" });
    expect(runningJobFromConflict("Conflict", { location: "https://h/restore/abcdef0123/pending" })).toMatchObject({ kind: "other", jobId: "abcdef0123" });
    expect(runningJobFromConflict("Another operation is in progress.")).toEqual({ kind: "unknown" });
  });
});

describe("classifyJobFailure", () => {
  const c = "https://acct.blob.core.windows.net/hsm-backups";
  it("names the cause and the fix for storage failures", () => {
    expect(classifyJobFailure("StorageAccessFailed", "The Blob container does not exist: could not … (ContainerNotFound). Create the container first", c)).toMatchObject({
      code: "ContainerNotFound",
      message: expect.stringMatching(/^\[ContainerNotFound\] .*Fix: create the container \(BACKUP_CONTAINER\)/),
    });
    expect(classifyJobFailure("StorageAccessFailed", "Storage is unreachable: could not write (ECONNREFUSED).", c).code).toBe("StorageUnreachable");
    expect(classifyJobFailure("StorageAccessFailed", "The HSM's managed identity is not authorized: could not write (403).", c)).toMatchObject({
      code: "MissingRole",
      message: expect.stringContaining('"Storage Blob Data Contributor"'),
    });
    expect(classifyJobFailure("StorageAccessFailed", "The SAS token lacks the 'w' (write) permission: ?sv=2025&sig=abcdef", c)).toMatchObject({ code: "BadParameter", message: expect.not.stringContaining("abcdef") });
    expect(classifyJobFailure("InternalError", "disk on fire", c)).toMatchObject({ code: "JobFailed", message: expect.stringMatching(/InternalError.*disk on fire/) });
  });
});

describe("backupRecordFromMetadata", () => {
  it("reads verified and pinned marks case-insensitively, and a retiring backup is never verified", () => {
    const base = { hsmname: "primary", folder: "mhsm-primary-1", completedat: "2026-11-23T02:03:00.000Z" };
    expect(backupRecordFromMetadata(base)).toEqual({ hsmName: "primary", folder: "mhsm-primary-1", completedAt: base.completedat, verified: false, pinned: false });
    expect(backupRecordFromMetadata({ ...base, VerifiedAt: "2026-11-23T02:05:00.000Z", Pinned: "True" })).toMatchObject({ verified: true, pinned: true });
    expect(backupRecordFromMetadata({ ...base, verifiedat: "2026-11-23T02:05:00.000Z", retiring: "2026-11-24T00:00:00.000Z" })?.verified).toBe(false);
    expect(backupRecordFromMetadata({ folder: "x" })).toBeUndefined();
  });
});
