/**
 * `/_emulator/admin-faults`: the next N full backup jobs are accepted (202) and then end Failed with the
 * injected code and message, as a job failing inside the HSM would; bad input is refused and changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEmulator, type TestEmulator } from "../support/emulator";

let emu: TestEmulator;
// Nothing listens on port 9: a job that gets past the injected failure fails reaching storage instead.
const body = { storageResourceUri: "http://127.0.0.1:9/devstoreaccount1/hsm-backups", useManagedIdentity: true };

beforeAll(async () => {
  emu = await startTestEmulator({ hsms: ["primary"], tickIntervalMs: 60_000 });
});

afterAll(async () => {
  await emu?.close();
});

async function runBackupJob(): Promise<{ status: string; error: { code: string; message: string } | null }> {
  const started = await emu.request("primary", "POST", "/backup?api-version=2025-07-01", { body });
  expect(started.status).toBe(202);
  for (let i = 0; i < 200; i++) {
    const s = await emu.request("primary", "GET", `/backup/${started.body.jobId as string}/pending?api-version=2025-07-01`);
    if (s.body.status !== "InProgress") return { status: s.body.status as string, error: s.body.error };
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("the backup job did not end");
}

describe("admin job fault injection", () => {
  it("refuses bad input and keeps the previous config", async () => {
    const bad = await emu.control("primary", "PUT", "/_emulator/admin-faults", { failBackupJobs: -1 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain("failBackupJobs must be an integer");
    expect((await emu.control("primary", "GET", "/_emulator/admin-faults")).body.failBackupJobs).toBe(0);
  });

  it("fails exactly the next N backup jobs with the injected code and message", async () => {
    const set = await emu.control("primary", "PUT", "/_emulator/admin-faults", { failBackupJobs: 1, code: "InternalError", message: "sealing failed (injected)" });
    expect(set.body).toEqual({ failBackupJobs: 1, code: "InternalError", message: "sealing failed (injected)" });

    expect(await runBackupJob()).toMatchObject({ status: "Failed", error: { code: "InternalError", message: "sealing failed (injected)" } });
    expect((await emu.control("primary", "GET", "/_emulator/admin-faults")).body.failBackupJobs).toBe(0);

    // The next job runs for real (and fails for its own reason: nothing listens on port 9).
    const next = await runBackupJob();
    expect(next.status).toBe("Failed");
    expect(next.error?.message).toContain("Storage is unreachable");
  });

  it("DELETE switches it off", async () => {
    await emu.control("primary", "PUT", "/_emulator/admin-faults", { failBackupJobs: 5 });
    expect((await emu.control("primary", "DELETE", "/_emulator/admin-faults")).status).toBe(204);
    expect((await emu.control("primary", "GET", "/_emulator/admin-faults")).body.failBackupJobs).toBe(0);
  });
});
