/**
 * Backup polling benchmark: for backup jobs of several durations, the status polls the `hsmBackup`
 * orchestration spends on the job and the delay between the job's completion and the orchestration
 * noticing it. Target: delay ≤ max(2 s, 10% of the job's duration).
 *
 * Real pieces throughout: Azurite, the emulator (HTTPS, real SDK clients), the offline runner (REAL clock)
 * with this app and the production poll setting (POLLER_INTERVAL_MS=2000). A job of duration D is made by
 * holding the storage gate (the HSM's writes wait; see dev/storageGate.ts), starting a backup, letting the nightly run adopt it (409), and
 * releasing it after D. Completion is observed independently by polling the HSM every 20 ms; the
 * orchestration's noticing time is the runner's timestamp of the poll result that said Succeeded.
 *
 * Run after a build: `node dist/bench/backupPolling.js [seconds,...]` (default 1,5,15,30). Prints one JSON line.
 */
import { request as httpsRequest } from "node:https";
import { startBackupTestStack, type BackupTestStack } from "../test/e2e/backupTestStack";
import { KeyVaultBackupClient } from "../shared/hsm/keyVaultBackupClient";
import { loadSettings } from "../shared/config/settings";
import { nightlyBackupInputs, startNightlyBackups } from "../shared/backup/nightlyBackup";
import type { BackupRunResult } from "../shared/backup/orchestrations/backupHsm";
import { EventType } from "../runner/historyEvents";

interface JobSample {
  targetDurationMs: number;
  jobDurationMs: number;
  polls: number;
  noticeDelayMs: number;
  budgetMs: number;
  withinTarget: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The backup job's status straight from the primary HSM's admin API, as the operator. */
async function backupJobStatus(stack: BackupTestStack, jobId: string): Promise<string> {
  const token = await stack.local.adminCredential.getToken("https://managedhsm.azure.net/.default");
  return new Promise((resolve, reject) => {
    const url = `${stack.hsmUrl}/backup/${jobId}/pending?api-version=2025-07-01`;
    const req = httpsRequest(url, { ca: stack.local.caPem, agent: false, headers: { authorization: `Bearer ${token?.token ?? ""}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        try {
          resolve(String((JSON.parse(Buffer.concat(chunks).toString("utf8")) as { status?: unknown }).status));
        } catch (e) {
          reject(e as Error);
        }
      });
    });
    req.on("error", reject);
    req.end();
  });
}

async function main(): Promise<void> {
  const durations = (process.argv[2] ?? "1,5,15,30").split(",").map((s) => Math.round(Number(s) * 1000));
  if (durations.some((d) => !Number.isFinite(d) || d < 0)) throw new Error("Pass job durations in seconds, e.g. `1,5,15,30`.");
  const stack = await startBackupTestStack({ clock: "real", settings: { POLLER_INTERVAL_MS: "2000" } });
  const samples: JobSample[] = [];
  try {
    const admin = new KeyVaultBackupClient(stack.hsmUrl, stack.local.adminCredential, stack.local.clientOptions());
    const containerUrl = `http://127.0.0.1:${stack.gate.port}/devstoreaccount1/${stack.backupContainer}`;
    const settings = loadSettings();
    for (const [i, target] of durations.entries()) {
      stack.gate.hold();
      const jobStart = Date.now();
      const jobId = (await admin.beginBackup(containerUrl)).getOperationState().jobId ?? "";
      const night = new Date(Date.UTC(2030, 0, 1 + i, 2));
      // One run per job: its own (simulated) night, scheduled now so it does not wait.
      const inputs = nightlyBackupInputs(settings, new Date()).map((input) => ({ ...input, night: night.toISOString().slice(0, 10) }));
      const [decision] = await startNightlyBackups(stack.durableClient(), inputs);
      const instanceId = decision?.instanceId ?? "";
      process.stderr.write(`job ${jobId}: run ${instanceId} started\n`);
      await sleep(Math.max(0, jobStart + target - Date.now()));
      stack.gate.release();
      // Independent observation of the job's end (20 ms granularity).
      let completedAt = 0;
      const giveUp = Date.now() + 120_000;
      while (completedAt === 0) {
        if ((await backupJobStatus(stack, jobId)) !== "InProgress") completedAt = Date.now();
        else if (Date.now() > giveUp) throw new Error(`backup job ${jobId} was still running 2 minutes after storage was released`);
        else await sleep(20);
      }
      process.stderr.write(`job ${jobId} (${target} ms) completed; waiting for ${instanceId}\n`);
      const [instance] = await stack.runner.waitForTerminal([instanceId]);
      if (instance?.runtimeStatus !== "Completed") throw new Error(`run ${instanceId} ended ${instance?.runtimeStatus}: ${instance?.output ?? ""}`);
      const result = JSON.parse(instance.output ?? "{}") as BackupRunResult;
      if (result.jobId !== jobId || !result.adopted) throw new Error(`run ${instanceId} did not adopt job ${jobId}`);
      // The poll that saw Succeeded: the last getBackupStatus completion before writeBackupManifest was scheduled.
      const manifestAt = instance.history.findIndex((e) => e.EventType === EventType.TaskScheduled && e.Name === "writeBackupManifest");
      const noticed = instance.history.slice(0, manifestAt).filter((e) => e.EventType === EventType.TaskCompleted).pop();
      const noticedAt = Date.parse(String(noticed?.Timestamp));
      const jobDurationMs = completedAt - jobStart;
      const noticeDelayMs = Math.max(0, noticedAt - completedAt);
      const budgetMs = Math.max(2000, jobDurationMs / 10);
      samples.push({ targetDurationMs: target, jobDurationMs, polls: result.polls, noticeDelayMs, budgetMs: Math.round(budgetMs), withinTarget: noticeDelayMs <= budgetMs });
    }
  } finally {
    stack.gate.release();
    await stack.close();
  }
  console.log(
    JSON.stringify({
      bench: "backupPolling",
      pollerIntervalMs: 2000,
      target: "noticeDelayMs <= max(2000, 10% of jobDurationMs)",
      allWithinTarget: samples.every((s) => s.withinTarget),
      jobs: samples,
    }),
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
