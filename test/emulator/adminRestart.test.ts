/**
 * Admin jobs persist in the state dir: after the emulator process is killed (SIGKILL) and started again
 * on the same --state-dir, a finished job still reports its result, a job that was running at the crash
 * reports Failed saying why, and the "recent backup" restore precondition survives too.
 * Runs the real CLI (dist/emulator/main.js, built by `npm run build`) as a child process.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyClient } from "@azure/keyvault-keys";
import { EmulatorCredential } from "../../emulator/index";
import { KeyVaultBackupClient } from "../../shared/hsm/keyVaultBackupClient";
import { adminJobResumeToken } from "../../shared/hsm/keyVaultAdminPoller";
import { startAzurite, type AzuriteBlob } from "../support/azurite";

const ADMIN = "0a0a0a0a-0000-4000-8000-00000000ad01";
const CONTAINER = "restart-backups";
const POLL = { updateIntervalInMs: 25 };
const MAIN = resolve(__dirname, "../../dist/emulator/main.js");

interface Child {
  process: ChildProcess;
  url: string;
  ca: string;
  credential: EmulatorCredential;
}

let azurite: AzuriteBlob;
let stateDir: string;
const children: ChildProcess[] = [];

async function startCli(): Promise<Child> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does).`);
  const child = spawn(
    process.execPath,
    [MAIN, "--state-dir", stateDir, "--hsm", "primary=0", "--blob", azurite.connectionString, "--admin", ADMIN],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  children.push(child);
  child.stderr?.resume();
  const line = await new Promise<string>((resolveLine, reject) => {
    const rl = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error("emulator CLI printed no ready line within 30 s")), 30_000);
    rl.once("line", (l) => {
      clearTimeout(timer);
      rl.close();
      child.stdout?.resume();
      resolveLine(l);
    });
    child.once("exit", (code) => reject(new Error(`emulator CLI exited (${code}) before ready`)));
  });
  const ready = JSON.parse(line) as { caFile: string; tokenSecretFile: string; instances: Record<string, { url: string }> };
  return {
    process: child,
    url: ready.instances["primary"]!.url,
    ca: readFileSync(ready.caFile, "utf8"),
    credential: new EmulatorCredential(ready.tokenSecretFile, ADMIN),
  };
}

function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    child.once("exit", () => done());
    child.kill(signal);
  });
}

const backupClient = (c: Child): KeyVaultBackupClient =>
  new KeyVaultBackupClient(c.url, c.credential, { tlsOptions: { ca: c.ca }, disableChallengeResourceVerification: true });

beforeAll(async () => {
  azurite = await startAzurite();
  await azurite.blobServiceClient().createContainer(CONTAINER);
  stateDir = mkdtempSync(join(tmpdir(), "hsm-admin-restart-"));
});

afterAll(async () => {
  azurite?.resume();
  for (const child of children) await kill(child, "SIGKILL");
  await azurite?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe("admin jobs across an emulator crash", () => {
  it("keeps finished jobs, fails the job that was running, and keeps the backup precondition", async () => {
    const first = await startCli();
    await new KeyClient(first.url, first.credential, { tlsOptions: { ca: first.ca }, disableChallengeResourceVerification: true }).createRsaKey("survivor");
    const done = await backupClient(first).beginBackup(azurite.containerUrl(CONTAINER), POLL);
    const doneResult = await done.pollUntilDone();
    const doneJobId = done.getOperationState().jobId as string;

    azurite.pause();
    let runningJobId: string;
    try {
      const running = await backupClient(first).beginBackup(azurite.containerUrl(CONTAINER), POLL);
      runningJobId = running.getOperationState().jobId as string;
      expect(running.getOperationState().status).toBe("InProgress");
      await kill(first.process, "SIGKILL");
    } finally {
      azurite.resume();
    }

    const second = await startCli();
    const client = backupClient(second);
    const finished = await client.beginBackup(azurite.containerUrl(CONTAINER), { ...POLL, resumeFrom: adminJobResumeToken(second.url, "backup", doneJobId) });
    expect((await finished.pollUntilDone()).folderUri).toBe(doneResult.folderUri);

    const interrupted = await client.beginBackup(azurite.containerUrl(CONTAINER), { ...POLL, resumeFrom: adminJobResumeToken(second.url, "backup", runningJobId) });
    await expect(interrupted.pollUntilDone()).rejects.toThrow(/emulator stopped while this backup job was running/);
    expect(interrupted.getOperationState().status).toBe("Failed");

    // The completed backup still counts for the restore rule after the restart.
    const restore = await client.beginRestore(doneResult.folderUri as string, POLL);
    await restore.pollUntilDone();
    expect(restore.getOperationState().status).toBe("Succeeded");
    await kill(second.process, "SIGTERM");
  });
});
