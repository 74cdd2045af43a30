/**
 * runSoak(stack, options): weeks or a year of unattended operation on the local stack, time-compressed. Each
 * simulated day moves the emulator's clocks (primary, DR, vault) to 02:00 of that day (job times, folder names,
 * key ages and the HSM's own auto-rotation advance) and starts the day's work through the app's own starters;
 * every run waits for its scheduled minute on the runner's virtual clock, so the orchestrations' "now" advances
 * with the days and durable timers (polls, outage back-offs) fire at once.
 *
 *   every day   rotation sweep (started together with the backup: rotations run while the job runs), nightly
 *               backup (verify, copy when configured, retention), a manual backup request while it runs (409),
 *               then the re-verification of every stored backup (03:30)
 *   weekly      full restore drill, with a manual selective drill request while it runs (409)
 *   one night   storage outage through the stack's storage gate for the whole backup deadline: the night is lost
 *               and named (its run fails with the cause and the deadline)
 *   one night   the night's backup is altered in storage after it was verified, before the re-verification and
 *               that night's drill: the re-verification must catch it and the drill fall back to an older good backup
 *
 * It only drives and observes; the assertions are the caller's (the soak test, bench/soak.ts), from the result.
 * The stack must run the app in a runner on the virtual clock with its timers off, behind the storage gate
 * (see {@link soakStackOptions}).
 */
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { loadSettings } from "../../shared/config/settings";
import { nightlyBackupInputs, startNightlyBackups } from "../../shared/backup/nightlyBackup";
import { manifestBlobName } from "../../shared/backup/backupManifest";
import { BACKUP_HOLD_PREFIX } from "../../shared/backup/backupHolds";
import type { BackupRunResult } from "../../shared/backup/orchestrations/backupHsm";
import { startReverifications } from "../../shared/backup/startReverifications";
import type { ReverifyBackupsResult } from "../../shared/backup/orchestrations/reverifyBackups";
import { startDailySweep } from "../../shared/rotation/activities/sweepStarter";
import type { RestoreDrillOutput } from "../../shared/drill/types";
import type { DrillReport } from "../../shared/drill/drillReport";
import type { LocalStack, LocalStackOptions } from "../localStack";
import { alterBackupBlob } from "./alterBackupBlob";
import { durableClientFor } from "./durableClientFor";
import { expectedRetention, type VerifiedBackupFact } from "./expectedRetention";

const DAY = 86_400_000;

export interface SoakOptions {
  days: number;
  /** Night (0-based) whose backup meets a storage outage lasting past the backup deadline; -1: none. */
  outageNight: number;
  /** Night whose verified backup is altered in storage and then drilled; -1: none. Should be a drill day. */
  tamperNight: number;
  /** Drill on nights where `night % 7 === drillWeekday` (default 6: the seventh night of each week). */
  drillWeekday?: number;
  /** A manual backup request during the nightly run, a manual drill during the weekly one: every `concurrentEvery` nights. */
  concurrentEvery?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface SoakNight {
  night: number;
  at: string;
  backup: { outcome: "verified"; folder: string; copy: BackupRunResult["copy"]; copiesRetained: number } | { outcome: "failed"; cause: string };
  sweep: string;
  /** What the concurrent manual backup request was answered (HTTP status). */
  manualBackup?: number;
  /** Backups the night's re-verification found altered (BackupIntegrityFailed), and how many it checked. */
  reverify: { checked: number; failed: string[]; errors: number };
  drill?: { drillId: string; verdict: "passed" | "failed"; backupFolder?: string; failures: string[]; warnings: string[]; rejected: string[] };
  /** What the concurrent manual drill request was answered. */
  manualDrill?: number;
}

export interface SoakResult {
  nights: number;
  verifiedBackups: number;
  drillsPassed: number;
  drillsFailed: number;
  /** Backups re-verification found altered (each counted once). */
  integrityFailuresCaught: number;
  /** Folders in the backup (and copy) container that nothing accounts for; see {@link countOrphanFolders}. */
  orphanFolders: number;
  /** Backups a drill hold or a drill report referenced that were gone while the reference was live. */
  deletedWhileReferenced: number;
  /** Every night, in order. */
  log: SoakNight[];
  /** The manifests left at the end and the set the retention rules call for (computed independently). */
  retention: { actual: string[]; expected: string[] };
  /** Copies left in the copy container (manifests), when one is configured. */
  copies?: string[];
  /** The outage night's failure and the tampered drill's failures, as reported. */
  tampered?: { folder: string; drill?: SoakNight["drill"] };
  wallMs: number;
}

/** What {@link runSoak} needs of the stack (pass to startLocalStack with a stateDir). */
export function soakStackOptions(settings: Record<string, string> = {}): Omit<LocalStackOptions, "stateDir"> {
  return {
    azuriteInMemory: true,
    storageGate: true,
    backupCopy: true,
    demoKeys: true,
    runner: { clock: "virtual", port: 0, scheduleTimers: false, startupTimers: false },
    settingsOverrides: { RETENTION_DAILY: "7", RETENTION_WEEKLY: "4", RETENTION_MONTHLY: "12", POLLER_INTERVAL_MS: "0", BACKUP_DEADLINE: "PT2H", ...settings },
  };
}

export async function runSoak(stack: LocalStack, options: SoakOptions): Promise<SoakResult> {
  const started = Date.now();
  const runner = stack.runner;
  const gate = stack.storageGate;
  if (runner === undefined || gate === undefined) throw new Error("runSoak needs the stack's runner and storage gate: start it with soakStackOptions().");
  const log = options.log ?? (() => undefined);
  const settings = loadSettings();
  const client = durableClientFor(runner.durableClientData);
  const blob = BlobServiceClient.fromConnectionString(stack.storageConnectionString);
  const backups = blob.getContainerClient(settings.storage.backupContainer);
  const reports = blob.getContainerClient(settings.storage.drillReportsContainer);
  const copies = copyContainerOf(blob, settings.storage.backupCopyContainerUrl);
  const drillWeekday = options.drillWeekday ?? 6;
  const concurrentEvery = options.concurrentEvery ?? 5;
  // Tomorrow 02:00 UTC: ahead of the runner's virtual clock and of every emulator clock.
  const first = Date.parse(`${new Date().toISOString().slice(0, 10)}T02:00:00Z`) + DAY;

  const nights: SoakNight[] = [];
  const verified: VerifiedBackupFact[] = [];
  /** Folders referenced (drill holds, drills' chosen backups) and until when the reference is live. */
  const references = new Map<string, number>();
  let deletedWhileReferenced = 0;
  let tampered: SoakResult["tampered"];
  const caught = new Set<string>();

  for (let n = 0; n < options.days; n++) {
    const at = first + n * DAY;
    await shiftClocksTo(stack, at);
    const entry: Omit<SoakNight, "backup"> & { backup?: SoakNight["backup"] } = { night: n, at: new Date(at).toISOString(), sweep: "", reverify: { checked: 0, failed: [], errors: 0 } };

    // The sweep and the backup start together: rotations run while the backup job runs.
    const sweep = await startDailySweep(client, settings, new Date(at), { trigger: "schedule" });
    const outage = n === options.outageNight;
    if (outage) await gate.cut();
    let backupId: string;
    try {
      const [decision] = await startNightlyBackups(client, nightlyBackupInputs(settings, new Date(at)));
      if (decision?.action !== "started") throw new Error(`night ${n}: the nightly backup did not start: ${JSON.stringify(decision)}`);
      backupId = decision.instanceId;
      if (n % concurrentEvery === 1) entry.manualBackup = (await postJson(runner.url, "/api/backups", {})).status;
      await waitForRuns(runner, [backupId, sweep.instanceId]);
    } finally {
      if (outage) await gate.open();
    }
    const sweepRecord = runner.host.get(sweep.instanceId);
    entry.sweep = `${sweep.kind}: ${sweepRecord?.runtimeStatus ?? "unknown"}`;
    const backupRecord = runner.host.get(backupId);
    if (backupRecord?.runtimeStatus === "Completed") {
      const result = JSON.parse(backupRecord.output ?? "{}") as BackupRunResult;
      const metadata = (await backups.getBlobClient(manifestBlobName(result.folder)).getProperties()).metadata ?? {};
      if (metadata["verifiedat"] === undefined) throw new Error(`night ${n}: ${result.folder} completed but is not marked verified`);
      verified.push({ folder: result.folder, completedAt: metadata["completedat"] ?? result.verifiedAt });
      const copiesRetained = result.retention !== null && "copies" in result.retention ? (result.retention.copies?.retained.length ?? 0) : 0;
      entry.backup = { outcome: "verified", folder: result.folder, copy: result.copy, copiesRetained };
    } else {
      entry.backup = { outcome: "failed", cause: `${backupRecord?.runtimeStatus ?? "missing"}: ${backupRecord?.output ?? ""}`.slice(0, 2000) };
    }

    if (n === options.tamperNight && entry.backup.outcome === "verified") {
      tampered = { folder: entry.backup.folder };
      await alterBackupBlob(backups, entry.backup.folder);
    }

    // The re-verification timer's run (03:30), through its own starter.
    const primaries = settings.hsms.filter((h) => h.role === "primary").map((h) => h.name);
    const reverifications = (await startReverifications(client, primaries, new Date(at + 90 * 60_000))).filter((d) => d.action === "started").map((d) => d.instanceId);
    await waitForRuns(runner, reverifications);
    entry.reverify = { checked: 0, failed: [], errors: 0 };
    for (const id of reverifications) {
      const r = JSON.parse(runner.host.get(id)?.output ?? "null") as ReverifyBackupsResult | null;
      if (r === null) throw new Error(`night ${n}: re-verification ${id} ended ${runner.host.get(id)?.runtimeStatus ?? "missing"}: ${runner.host.get(id)?.output ?? ""}`);
      entry.reverify.checked += r.checked;
      entry.reverify.failed.push(...r.failures.map((f) => f.folder));
      entry.reverify.errors += r.errors.length;
    }
    for (const folder of entry.reverify.failed) {
      caught.add(folder);
      // No longer verified: retention owes it no slot.
      const i = verified.findIndex((v) => v.folder === folder);
      if (i !== -1) verified.splice(i, 1);
    }

    const drillDay = n % 7 === drillWeekday || n === options.tamperNight;
    if (drillDay) {
      const answer = await postJson(runner.url, "/api/drills", {});
      if (answer.status !== 202) throw new Error(`night ${n}: the drill did not start (${answer.status}): ${JSON.stringify(answer.body)}`);
      const drillId = String(answer.body.id);
      if (n % concurrentEvery === drillWeekday % concurrentEvery || n === options.tamperNight) {
        entry.manualDrill = (await postJson(runner.url, "/api/drills", { mode: "selective", keyName: "pay-signing" })).status;
      }
      await waitForRuns(runner, [drillId]);
      const output = JSON.parse(runner.host.get(drillId)?.output ?? "null") as RestoreDrillOutput | null;
      const report = output === null ? undefined : await readJson<DrillReport>(reports, output.reportJson);
      entry.drill = {
        drillId,
        verdict: output?.verdict ?? "failed",
        failures: output?.failures ?? [`the drill ended ${runner.host.get(drillId)?.runtimeStatus ?? "missing"} without an output`],
        warnings: output?.warnings ?? [],
        rejected: report?.fallback?.rejected.map((r) => r.folder) ?? [],
        ...(report?.backup ? { backupFolder: report.backup.folder } : {}),
      };
      if (report?.backup) references.set(report.backup.folder, Math.max(references.get(report.backup.folder) ?? 0, at + DAY));
      if (tampered !== undefined && n === options.tamperNight) tampered.drill = entry.drill;
    }

    // Holds the drills wrote are references too, for as long as they last.
    for await (const h of reports.listBlobsFlat({ prefix: BACKUP_HOLD_PREFIX })) {
      const hold = await readJson<{ referencedUntil: string }>(reports, h.name);
      const folder = h.name.slice(BACKUP_HOLD_PREFIX.length, -".json".length);
      const until = Date.parse(hold?.referencedUntil ?? "");
      if (Number.isFinite(until)) references.set(folder, Math.max(references.get(folder) ?? 0, until));
    }
    // A reference still live tonight whose backup is gone was deleted while referenced.
    for (const [folder, until] of references) {
      if (until < at) continue;
      if (!(await backups.getBlobClient(manifestBlobName(folder)).exists())) {
        deletedWhileReferenced++;
        references.delete(folder);
      }
    }
    nights.push(entry as SoakNight);
    log(`night ${n} ${entry.at.slice(0, 10)}: backup ${entry.backup.outcome}, re-verified ${entry.reverify.checked}${entry.reverify.failed.length > 0 ? ` (altered: ${entry.reverify.failed.join(", ")})` : ""}${entry.drill ? `, drill ${entry.drill.verdict}` : ""}, sweep ${entry.sweep}`);
  }

  const actual = (await names(backups, "manifests/")).map((m) => m.slice("manifests/".length, -".json".length)).sort();
  const expected = [...expectedRetention(verified, settings.retention)].sort();
  const lastNight = first + (options.days - 1) * DAY;
  const orphanFolders = (await countOrphanFolders(backups, new Date(lastNight), settings.retention.daily)) + (copies === undefined ? 0 : await countOrphanFolders(copies, new Date(lastNight), settings.retention.daily));
  const drills = nights.flatMap((n) => (n.drill ? [n.drill] : []));
  const copiesLeft = copies === undefined ? undefined : (await names(copies, "manifests/")).map((m) => m.slice("manifests/".length, -".json".length)).sort();
  return {
    nights: nights.length,
    verifiedBackups: verified.length,
    drillsPassed: drills.filter((d) => d.verdict === "passed").length,
    drillsFailed: drills.filter((d) => d.verdict !== "passed").length,
    integrityFailuresCaught: caught.size,
    orphanFolders,
    deletedWhileReferenced,
    log: nights,
    retention: { actual, expected },
    ...(copiesLeft !== undefined ? { copies: copiesLeft } : {}),
    ...(tampered !== undefined ? { tampered } : {}),
    wallMs: Date.now() - started,
  };
}

/**
 * Folders nothing accounts for: a folder of a primary HSM without a manifest (a half-deleted or never-manifested
 * backup left behind), a manifest whose folder is gone, or a manifest-less folder (a DR self-backup) that folder
 * cleanup should have deleted: older than `keepDays` before `now` and not its HSM's newest.
 */
export async function countOrphanFolders(container: ContainerClient, now: Date, keepDays: number): Promise<number> {
  const all = await names(container);
  const manifests = new Set(all.filter((b) => b.startsWith("manifests/")).map((m) => m.slice("manifests/".length, -".json".length)));
  const folders = new Set(all.filter((b) => !b.startsWith("manifests/") && !b.startsWith(BACKUP_HOLD_PREFIX)).map((b) => b.split("/")[0] ?? ""));
  let orphans = [...manifests].filter((m) => !folders.has(m)).length;
  const newestPerHsm = new Map<string, string>();
  const loose = [...folders].filter((f) => !manifests.has(f));
  for (const f of loose) {
    const hsm = f.replace(/-\d{14,16}$/, "");
    if ((newestPerHsm.get(hsm) ?? "") < f) newestPerHsm.set(hsm, f);
  }
  for (const f of loose) {
    const m = /-(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})\d*$/.exec(f);
    const at = m === null ? Number.NaN : Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
    const young = Number.isFinite(at) && at >= now.getTime() - keepDays * DAY;
    if (newestPerHsm.get(f.replace(/-\d{14,16}$/, "")) === f || young) continue;
    orphans++;
  }
  return orphans;
}

const TERMINAL = new Set(["Completed", "Failed", "Terminated"]);

/**
 * Waits for the runs, letting virtual time jump only as far as they need: the runner's own waitForTerminal fires
 * EVERY pending durable timer (a rotation's retirement days ahead included), which would carry the orchestrations'
 * clock past the simulated day.
 */
async function waitForRuns(runner: NonNullable<LocalStack["runner"]>, ids: readonly string[]): Promise<void> {
  const done = (): boolean => ids.every((id) => TERMINAL.has(runner.host.get(id)?.runtimeStatus ?? "Pending"));
  while (!done()) {
    await runner.host.waitForIdle(done);
    if (!done()) await new Promise((r) => setTimeout(r, 25));
  }
}

/** Moves every emulated instance's clock forward to `target` (never back). */
async function shiftClocksTo(stack: LocalStack, target: number): Promise<void> {
  for (const instance of ["primary", "dr", "app"]) {
    const now = Date.parse((await stack.control(instance, "GET", "/_emulator/clock")).body.now as string);
    if (target > now) {
      const r = await stack.control(instance, "POST", "/_emulator/clock", { shiftMs: target - now });
      if (r.status !== 200) throw new Error(`Shifting ${instance}'s clock answered ${r.status}: ${JSON.stringify(r.body)}`);
    }
  }
}

function copyContainerOf(blob: BlobServiceClient, url: string | undefined): ContainerClient | undefined {
  if (url === undefined) return undefined;
  const name = url.split("?")[0]?.replace(/\/+$/, "").split("/").pop();
  return name === undefined ? undefined : blob.getContainerClient(name);
}

async function names(container: ContainerClient, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const b of container.listBlobsFlat({ prefix })) out.push(b.name);
  return out.sort();
}

async function readJson<T>(container: ContainerClient, name: string): Promise<T | undefined> {
  try {
    return JSON.parse((await container.getBlobClient(name).downloadToBuffer()).toString("utf8")) as T;
  } catch {
    return undefined;
  }
}

async function postJson(base: string, path: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === "" ? undefined : JSON.parse(text);
  } catch {
    // not JSON: kept as text for the error message
  }
  return { status: res.status, body: parsed };
}
