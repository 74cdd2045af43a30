/**
 * Helpers for the restore-drill e2e tests on the local stack (runner + emulator + Azurite): a verified backup of
 * the primary through the backup workflow's own activities (as the backup identity), the emulator's own job and
 * audit records, an Event Grid webhook sink, and drills started through the app's real HTTP trigger.
 */
import { createServer, type Server } from "node:http";
import { request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot, startLocalStack, type LocalStack } from "../../dev/localStack";
import { alterBackupBlob } from "../../dev/soak/alterBackupBlob";
import { startRunner, type Runner } from "../../runner/index";
import { createBackupDeps, type BackupDeps } from "../../shared/backup/backupDeps";
import { startBackup } from "../../shared/backup/activities/start";
import { getBackupStatus } from "../../shared/backup/activities/status";
import { writeBackupManifest } from "../../shared/backup/activities/manifestWrite";
import { verifyBackup } from "../../shared/backup/activities/verify";
import type { DrillReport } from "../../shared/drill/drillReport";
import type { RestoreDrillOutput } from "../../shared/drill/types";
import { startTestEmulator, type TestEmulator, type TestEmulatorOptions } from "../support/emulator";

/** Audit operations that change an HSM (reads, crypto and status reads do not). */
export const WRITE_OPERATIONS = /^(KeyCreate|KeyImport|KeyUpdate|KeyDelete|KeyPurge|KeyRotate|KeyRestore|KeyRecover|KeyRotationPolicySet|BackupCreate|Restore|SelectiveKeyRestore|RoleAssignment(Create|Delete)|RoleDefinition(Create|Delete))$/;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function containers(stack: LocalStack): { backups: ContainerClient; reports: ContainerClient; audit: ContainerClient } {
  const blob = BlobServiceClient.fromConnectionString(stack.storageConnectionString);
  return {
    backups: blob.getContainerClient(stack.settings["BACKUP_CONTAINER"]!),
    reports: blob.getContainerClient(stack.settings["DRILL_REPORTS_CONTAINER"]!),
    audit: blob.getContainerClient(stack.settings["AUDIT_CONTAINER"]!),
  };
}

/** A drill test's world: the stack, a sink for its Drill* events, its state dir, and one close for all three. */
export interface DrillTestStack {
  stack: LocalStack;
  sink: EventSink;
  stateDir: string;
  close(): Promise<void>;
}

/**
 * The local stack as drill tests use it: in-memory Azurite, the demo keys, this app in a runner on a virtual
 * clock (durable timers fire at once) whose timers fire only when a test says so, and a DrillCompleted /
 * DrillFailed sink.
 */
export async function startDrillTestStack(prefix: string, settingsOverrides: Record<string, string> = {}): Promise<DrillTestStack> {
  const stateDir = mkdtempSync(join(tmpdir(), prefix));
  const stack = await startLocalStack({
    stateDir,
    azuriteInMemory: true,
    demoKeys: true,
    runner: { clock: "virtual", port: 0, startupTimers: false, scheduleTimers: false },
    settingsOverrides,
  });
  const sink = await subscribeEventSink(stack, "drill-events", ["HsmLifecycle.DrillCompleted", "HsmLifecycle.DrillFailed"]);
  return {
    stack,
    sink,
    stateDir,
    async close() {
      await sink.close();
      await stack.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/**
 * A second emulator beside the stack's (e.g. a DR HSM with another domain, or a new HSM in recovery mode) sharing
 * its CA and token secret, so the app's managed identity and TLS trust reach it unchanged; the operator is admin.
 */
export async function siblingEmulator(stack: LocalStack, dirName: string, hsms: TestEmulatorOptions["hsms"]): Promise<TestEmulator> {
  const src = join(stack.stateDir, "emulator");
  const dst = join(stack.stateDir, dirName);
  mkdirSync(join(dst, "tls"), { recursive: true });
  for (const f of ["ca.pem", "token-secret", join("tls", "server.pem"), join("tls", "server-key.pem")]) copyFileSync(join(src, f), join(dst, f));
  return startTestEmulator({ stateDir: dst, hsms, blobConnectionString: stack.storageConnectionString, admins: [stack.identities.operator] });
}

/** A verified full backup of `primary`, made by the backup workflow's activities as the backup identity. */
export async function verifiedBackupOfPrimary(stack: LocalStack): Promise<{ folder: string; jobId: string }> {
  const deps = backupDepsOf(stack);
  const hsm = { hsmName: "primary" };
  const { jobId } = await startBackup(hsm, deps);
  for (let i = 0; i < 600; i++) {
    const s = await getBackupStatus({ ...hsm, jobId }, deps);
    if (s.status === "Succeeded") {
      const written = await writeBackupManifest({ ...hsm, jobId, folderUri: s.folderUri!, startTime: s.startTime, endTime: s.endTime! }, deps);
      await verifyBackup({ folder: written.folder }, deps);
      return { folder: written.folder, jobId };
    }
    if (s.status !== "InProgress") throw new Error(`The primary's backup ended ${s.status}.`);
    await sleep(50);
  }
  throw new Error("The primary's backup did not finish.");
}

/**
 * The backup workflow's activity deps on the stack, as the backup identity, reaching storage as the app does
 * (through the storage gate when there is one): the manifest names its container URL, and the drill trusts only
 * a backup inside the container it sees itself.
 */
export function backupDepsOf(stack: LocalStack): BackupDeps {
  return createBackupDeps({
    credential: stack.managedIdentityCredential("backup"),
    hsmClientOptions: { tlsOptions: { ca: stack.caPem }, disableChallengeResourceVerification: true },
    blobService: BlobServiceClient.fromConnectionString(stack.settings["STORAGE_CONNECTION_STRING"] || stack.storageConnectionString),
    settings: { hsms: [{ name: "primary", kind: "managedHsm", url: stack.urls.primary, role: "primary" }], adminJobTimeoutMs: 3_600_000, storage: { backupContainer: stack.settings["BACKUP_CONTAINER"]!, backupAuth: "managedIdentity", manifestKey: stack.settings["BACKUP_MANIFEST_KEY"]!, drillReportsContainer: stack.settings["DRILL_REPORTS_CONTAINER"]! } },
  });
}

/** Flips one bit of one key's sealed blob in a backup folder (storage altered after verification). */
export async function tamperBackup(stack: LocalStack, folder: string): Promise<string> {
  return alterBackupBlob(containers(stack).backups, folder);
}

interface RawAnswer {
  status: number;
  body: any;
}

function httpsJson(ca: string, url: string, method: string, headers: Record<string, string> = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method, ca, agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        resolve({ status: res.statusCode ?? 0, body: text === "" ? undefined : JSON.parse(text) });
      });
    });
    req.on("error", reject);
    req.end();
  });
}

/** The emulator's own record of an admin job (unix-second timestamps), read as the operator. */
export async function emulatorJob(stack: LocalStack, hsm: "primary" | "dr", kind: "backup" | "restore", jobId: string): Promise<{ status: string; startTime: number; endTime: number | null }> {
  const token = await stack.adminCredential.getToken("https://managedhsm.azure.net/.default");
  const res = await httpsJson(stack.caPem, `${stack.urls[hsm]}/${kind}/${jobId}/pending?api-version=2025-07-01`, "GET", { authorization: `Bearer ${token!.token}` });
  if (res.status !== 200) throw new Error(`${kind} job ${jobId} on ${hsm}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { status: string; startTime: number; endTime: number | null };
}

export interface AuditRecord {
  operationName: string;
  time: string;
  identity?: unknown;
  [k: string]: unknown;
}

/** The emulator's audit log of one instance since `since` (loopback control endpoint). */
export async function auditOf(stack: LocalStack, hsm: "primary" | "dr", since: string): Promise<AuditRecord[]> {
  const res = await httpsJson(stack.caPem, `${stack.urls[hsm]}/_emulator/audit?since=${encodeURIComponent(since)}`, "GET");
  if (res.status !== 200) throw new Error(`audit of ${hsm}: HTTP ${res.status}`);
  return (res.body as { value: AuditRecord[] }).value;
}

/**
 * The write calls in an audit log, in order. The emulator also logs an admin job's completion under the job's
 * operation name (request URI `…/pending`, like the service's completion records): those are not calls.
 */
export const writesIn = (records: AuditRecord[]): string[] =>
  records.filter((r) => WRITE_OPERATIONS.test(r.operationName) && !/\/pending(\?|$)/.test(String((r["properties"] as { requestUri?: string } | undefined)?.requestUri ?? ""))).map((r) => r.operationName);

/** An Event Grid webhook (validation handshake included) subscribed to the stack's lifecycle topic. */
export interface EventSink {
  events: Array<{ id: string; eventType: string; subject: string; data: any }>;
  close(): Promise<void>;
}

export async function subscribeEventSink(stack: LocalStack, name: string, types: string[]): Promise<EventSink> {
  const events: EventSink["events"] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const batch = JSON.parse(Buffer.concat(chunks).toString("utf8") || "[]") as Array<{ id: string; eventType: string; subject: string; data: any }>;
      const validation = batch.find((e) => e.eventType === "Microsoft.EventGrid.SubscriptionValidationEvent");
      res.writeHead(200, { "content-type": "application/json" });
      if (validation !== undefined) {
        res.end(JSON.stringify({ validationResponse: validation.data.validationCode }));
        return;
      }
      events.push(...batch);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
  const put = await new Promise<RawAnswer>((resolve, reject) => {
    const payload = JSON.stringify({ source: "lifecycle", endpoint, includedEventTypes: types });
    const req = httpsRequest(`${stack.urls.topic}/_emulator/eventgrid/subscriptions/${name}`, { method: "PUT", ca: stack.caPem, agent: false, headers: { "content-type": "application/json" } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.end(payload);
  });
  if (put.status >= 300) throw new Error(`Subscribing the event sink failed: HTTP ${put.status} ${String(put.body)}`);
  return {
    events,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Waits until an event matching `pick` arrived (Event Grid delivers asynchronously). */
export async function eventArrived(sink: EventSink, pick: (e: EventSink["events"][number]) => boolean, timeoutMs = 20_000): Promise<EventSink["events"][number]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const found = sink.events.find(pick);
    if (found !== undefined) return found;
    if (Date.now() > until) throw new Error(`No matching event within ${timeoutMs} ms; got ${JSON.stringify(sink.events.map((e) => [e.eventType, e.data?.runId]))}`);
    await sleep(100);
  }
}

/** POST /api/drills on the runner: the 202 body (durable status URLs) or the error answer. */
export async function postDrill(stack: LocalStack, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${stack.runner!.url}/api/drills`, { method: "POST", headers: { "content-type": "application/json" }, body: body === undefined ? "" : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text === "" ? undefined : JSON.parse(text) };
}

/**
 * The assertion message for a drill start that was not 202: the answer's body (a 409 names its cause) and what
 * the runner holds that is not finished.
 */
export function whyNotStarted(stack: LocalStack, answer: { body: unknown }): string {
  const open = stack.runner!.host.list().filter((i) => !["Completed", "Failed", "Terminated"].includes(i.runtimeStatus));
  return `${JSON.stringify(answer.body)}; unfinished: ${JSON.stringify(open.map((i) => ({ id: i.instanceId, name: i.name, status: i.runtimeStatus, createdTime: i.createdTime })))}`;
}

/** Waits for the drill through the durable status URL the 202 gave and returns its output. */
export async function drillOutcome(stack: LocalStack, instanceId: string, statusPath?: string): Promise<{ runtimeStatus: string; output: RestoreDrillOutput }> {
  await stack.runner!.waitForTerminal([instanceId]);
  // The starter's status path (`/api/runs/{id}`), as an operator follows it.
  const url = `${stack.runner!.url}${statusPath ?? `/api/runs/${encodeURIComponent(instanceId)}`}`;
  const res = await fetch(url);
  const status = (await res.json()) as { runtimeStatus: string; output: RestoreDrillOutput };
  return status;
}

export async function readReport(stack: LocalStack, blob: string): Promise<DrillReport> {
  return JSON.parse((await containers(stack).reports.getBlobClient(blob).downloadToBuffer()).toString("utf8")) as DrillReport;
}

/**
 * This app in a runner of its own on the stack, with HSMS / DRILL_PAIRS replaced (the stack's runner always
 * drills primary → dr). The app's settings are cached per process, so use one configuration per test file.
 * Close the runner before the stack.
 */
export async function startDrillRunner(stack: LocalStack, hsms: Record<string, string>, drillPairs: string): Promise<Runner> {
  const values = { ...stack.settings, HSMS: Object.entries(hsms).map(([n, u]) => `${n}=${u}`).join(","), DRILL_PAIRS: drillPairs };
  const settingsFile = join(stack.stateDir, "drill.settings.json");
  writeFileSync(settingsFile, JSON.stringify({ IsEncrypted: false, Values: values }, null, 2), { mode: 0o600 });
  stack.managedIdentityCredential("drill"); // points this process's MSAL at the stack's identity endpoint
  return startRunner({ appDir: repoRoot(), port: 0, stateDir: join(stack.stateDir, "drill-runner"), settingsFile, clock: "virtual", startupTimers: false, scheduleTimers: false, log: false });
}

/** POST /api/drills on a given runner. */
export async function postDrillTo(runner: Runner, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${runner.url}/api/drills`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text === "" ? undefined : JSON.parse(text) };
}

/** The drill's terminal status through the durable status URL. */
export async function outcomeOn(runner: Runner, instanceId: string, statusPath: string): Promise<{ runtimeStatus: string; output: RestoreDrillOutput }> {
  await runner.waitForTerminal([instanceId]);
  return (await (await fetch(`${runner.url}${statusPath}`)).json()) as { runtimeStatus: string; output: RestoreDrillOutput };
}
