import { describe, expect, it } from "vitest";
import { classifyRestoreFailure } from "../../shared/drill/activities/getRestoreStatus";
import { isoFromSeconds, toAdminJobSnapshot } from "../../shared/drill/adminJobSnapshot";

describe("classifyRestoreFailure", () => {
  it("names the security-domain mismatch, a tampered backup and the missing self-backup", () => {
    expect(classifyRestoreFailure("BadParameter", "The backup was taken on an HSM with a different security domain.").code).toBe("SecurityDomainMismatch");
    const tampered = classifyRestoreFailure("InvalidBackup", "Backup blob keys/signer was modified or is corrupt.");
    expect(tampered.code).toBe("BackupIntegrityFailed");
    expect(tampered.message).toMatch(/^\[BackupIntegrityFailed\] .*keys\/signer.*Fix: /);
    expect(classifyRestoreFailure("BadParameter", "The target must have completed a full backup of itself within the last 30 minutes.").code).toBe("JobFailed");
    expect(classifyRestoreFailure("InternalError", "").message).toBe("[JobFailed] The restore job failed on the DR HSM (InternalError): no details given.");
  });

  it("never repeats a SAS the service text might carry", () => {
    const { message } = classifyRestoreFailure("Forbidden", "GET https://acct.blob.core.windows.net/c/f?sv=2024&sig=SECRETSIG failed");
    expect(message).not.toContain("SECRETSIG");
  });
});

describe("toAdminJobSnapshot", () => {
  it("maps the wire job (unix seconds, null while running) to ISO instants and a status", () => {
    expect(toAdminJobSnapshot("j1", { status: "InProgress", startTime: 1_795_000_000, endTime: null })).toEqual({ jobId: "j1", status: "InProgress", startTime: "2026-11-18T11:06:40.000Z" });
    expect(toAdminJobSnapshot("j1", { jobId: "j1", status: "Succeeded", startTime: 1_795_000_000, endTime: 1_795_000_003, azureStorageBlobContainerUri: "https://s/c/mhsm-dr-1" })).toMatchObject({ endTime: "2026-11-18T11:06:43.000Z", folderUrl: "https://s/c/mhsm-dr-1" });
    expect(toAdminJobSnapshot("j1", { status: "Failed", statusDetails: "boom" }).error).toEqual({ code: "Failed", message: "boom" });
    expect(toAdminJobSnapshot("j1", { status: "Failed", error: { code: "Conflict", message: "busy" } }).error).toEqual({ code: "Conflict", message: "busy" });
    expect(isoFromSeconds(0)).toBeUndefined();
  });
});
