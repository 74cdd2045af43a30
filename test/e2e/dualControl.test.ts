/**
 * Dual control end to end on the local stack: the real CLI (`bin/hsm-lifecycle.js`) as the operator and the
 * approvers (`--as OID`: emulator tokens, checked by the app with the same code as Entra tokens), the app in a runner
 * child process (so it can be killed and restarted), the emulator enforcing key_ops. Build first
 * (`npx tsc -p tsconfig.json`).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CryptographyClient, KeyClient } from "@azure/keyvault-keys";
import { BlobServiceClient } from "@azure/storage-blob";
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack, type LocalStack } from "../../dev/localStack";
import { STACK_PEOPLE } from "../../dev/stackIdentities";
import { STACK_CONTAINERS } from "../../dev/stackSettings";
import { spawnRunner, type RunnerChild } from "../runner/runnerProcess";
import { rawHttpsRequest } from "../support/emulator";
import { runCliProcess, type CliRun } from "../support/runCliProcess";

const DAY = 86_400_000;
const OPERATOR = STACK_PEOPLE.operator;
const [APPROVER1, APPROVER2, APPROVER3] = STACK_PEOPLE.approvers;
const OUTSIDER = STACK_PEOPLE.outsider;

let stack: LocalStack;
let dir: string;
let child: RunnerChild | undefined;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A copy of the stack's settings file with some values changed (the runner reads settings at start). */
function settingsWith(name: string, values: Record<string, string>): string {
  const file = join(dir, `${name}.settings.json`);
  const parsed = JSON.parse(readFileSync(stack.settingsFile, "utf8")) as { Values: Record<string, string> };
  writeFileSync(file, JSON.stringify({ ...parsed, Values: { ...parsed.Values, ...values } }), { mode: 0o600 });
  return file;
}

let runnerSettings = "";

async function startRunner(settingsFile: string): Promise<void> {
  runnerSettings = settingsFile;
  child = await spawnRunner(["--app", ".", "--port", "0", "--state-dir", join(dir, "runner"), "--settings", settingsFile]);
}

async function killRunner(): Promise<void> {
  if (child === undefined) return;
  const c = child;
  child = undefined;
  c.child.kill("SIGKILL");
  await c.exited;
}

async function cli(args: string[]): Promise<CliRun> {
  return runCliProcess([...args, "--settings", runnerSettings, "--app-url", child?.ready.url ?? "http://127.0.0.1:9"]);
}

interface RequestRow {
  request: string;
  operation: string;
  status: string;
  requester: string;
  approvers: string[];
  required: number;
  result?: { previousVersion?: string; version?: string; restricted?: { keyOps: string[] }; previousDisabled?: string };
}

async function requests(): Promise<RequestRow[]> {
  const run = await cli(["requests", "--json"]);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as RequestRow[];
}

async function waitForRequest(id: string, until: (r: RequestRow) => boolean, timeoutMs = 90_000): Promise<RequestRow> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = (await requests()).find((r) => r.request === id);
    if (row !== undefined && until(row)) return row;
    if (Date.now() > deadline) throw new Error(`request ${id} never got there: ${JSON.stringify(row)}; runner: ${child?.stderr().slice(-2000)}`);
    await sleep(500);
  }
}

async function requestEmergency(key: string, reason: string, ticket: string): Promise<string> {
  const run = await cli(["rotate", "--now", "--instance", "primary", "--key", key, "--reason", reason, "--ticket", ticket, "--as", OPERATOR, "--json"]);
  expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(3);
  const body = JSON.parse(run.stdout) as { request: string; status: string; requester: string };
  expect(body.status).toBe("pending");
  expect(body.requester).toBe(OPERATOR);
  return body.request;
}

async function auditBlobs(id: string): Promise<string[]> {
  const service = BlobServiceClient.fromConnectionString(stack.storageConnectionString);
  const names: string[] = [];
  for await (const b of service.getContainerClient(STACK_CONTAINERS.audit).listBlobsFlat({ prefix: `rotation/requests/${id}/` })) names.push(b.name.slice(`rotation/requests/${id}/`.length));
  return names.sort();
}

function hsm(): KeyClient {
  return new KeyClient(stack.urls.primary, stack.adminCredential, stack.clientOptions());
}

async function versions(name: string): Promise<string[]> {
  const out: string[] = [];
  for await (const v of hsm().listPropertiesOfKeyVersions(name)) out.push(v.version ?? "");
  return out;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "dual-control-"));
  writeFileSync(
    join(dir, "rotation-policy.json"),
    JSON.stringify({ version: 1, defaults: { gracePeriod: "P7D" }, rules: [{ name: "hsm-keys", instances: ["primary"], rotateBeforeExpiry: "P30D", newVersionExpiry: "P180D" }] }),
  );
  stack = await startLocalStack({ stateDir: dir, azuriteInMemory: true, settingsOverrides: { COMPROMISE_GRACE: "PT20S" } });
  await startRunner(stack.settingsFile);
}, 180_000);

afterAll(async () => {
  await killRunner();
  await stack?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe("emergency rotation under dual control", () => {
  it("waits for one approval from a listed approver who is not the requester, rotates once, restricts then disables the old version", async () => {
    // Not due for years: an ordinary rotation would skip it.
    const key = await hsm().createRsaKey("pay-sign", { keySize: 2048, keyOps: ["sign", "verify"], expiresOn: new Date(Date.now() + 3 * 365 * DAY) });
    const oldVersion = key.properties.version ?? "";
    const oldSignature = Buffer.from((await new CryptographyClient(key, stack.adminCredential, stack.clientOptions()).sign("RS256", createHash("sha256").update("still trusted?").digest())).result);
    const id = await requestEmergency("pay-sign", "compromise", "INC-4711");
    expect((await requests()).find((r) => r.request === id)).toMatchObject({ operation: "emergencyRotation", status: "pending", requester: OPERATOR, approvers: [], required: 1 });

    const own = await cli(["approve", id, "--as", OPERATOR]);
    expect(own.code).toBe(1);
    expect(own.stderr).toMatch(/requested this operation and cannot approve/);
    const outsider = await cli(["approve", id, "--as", OUTSIDER]);
    expect(outsider.code).toBe(1);
    expect(outsider.stderr).toMatch(/not listed in APPROVERS/);
    expect(await versions("pay-sign")).toEqual([oldVersion]);

    const ok = await cli(["approve", id, "--as", APPROVER1 as string]);
    expect(ok.code, ok.stderr).toBe(0);
    const done = await waitForRequest(id, (r) => r.status === "completed" || r.status === "failed");
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(done.approvers).toEqual([APPROVER1]);
    const all = await versions("pay-sign");
    expect(all).toHaveLength(2);
    const current = await hsm().getKey("pay-sign");
    expect(current.properties.version).not.toBe(oldVersion);
    expect(done.result?.version).toBe(current.properties.version);
    expect(done.result?.restricted?.keyOps).toEqual(["verify"]);

    // The old version still verifies on the HSM but can no longer sign: the service's 403 KeyOperationForbidden.
    const old = await hsm().getKey("pay-sign", { version: oldVersion });
    expect(old.keyOperations).toEqual(["verify"]);
    // The SDK refuses locally from key_ops; the HSM itself must refuse too (raw REST): 403 Forbidden, KeyOperationForbidden.
    const digest = createHash("sha256").update("still trusted?").digest();
    const token = (await stack.adminCredential.getToken("https://managedhsm.azure.net/.default"))?.token ?? "";
    const refused = await rawHttpsRequest(stack.caPem, `${stack.urls.primary}/keys/pay-sign/${oldVersion}/sign?api-version=7.5`, "POST", { body: { alg: "RS256", value: digest.toString("base64url") }, headers: { authorization: `Bearer ${token}` } });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.text)).toMatchObject({ error: { code: "Forbidden", innererror: { code: "KeyOperationForbidden" } } });
    const oldCrypto = new CryptographyClient(old, stack.adminCredential, stack.clientOptions());
    await expect(oldCrypto.sign("RS256", digest)).rejects.toThrow(/not supported/);
    // The old version still verifies what it signed before (an old signature made with it, checked on the HSM).
    const fresh = new CryptographyClient(current, stack.adminCredential, stack.clientOptions());
    const signature = (await fresh.sign("RS256", digest)).result;
    expect((await fresh.verify("RS256", digest, signature)).result).toBe(true);
    const verifiedByOld = await rawHttpsRequest(stack.caPem, `${stack.urls.primary}/keys/pay-sign/${oldVersion}/verify?api-version=7.5`, "POST", {
      body: { alg: "RS256", digest: digest.toString("base64url"), value: oldSignature.toString("base64url") },
      headers: { authorization: `Bearer ${token}` },
    });
    expect(verifiedByOld.status, verifiedByOld.text).toBe(200);
    expect(JSON.parse(verifiedByOld.text)).toEqual({ value: true });

    // A decision after the end is refused, naming why.
    const late = await cli(["approve", id, "--as", APPROVER2 as string]);
    expect(late.code).toBe(1);
    expect(late.stderr).toMatch(/completed, not pending/);

    // After COMPROMISE_GRACE (20 s) the old version is disabled (never purged).
    const disabled = await waitForRequest(id, (r) => r.result?.previousDisabled !== undefined, 120_000);
    expect(disabled.result?.previousDisabled).toBe("disabled");
    expect((await hsm().getKey("pay-sign", { version: oldVersion })).properties.enabled).toBe(false);
    const blobs = await auditBlobs(id);
    expect(blobs.filter((b) => b.startsWith("refused-"))).toHaveLength(3);
    expect(blobs.filter((b) => !b.startsWith("refused-"))).toEqual(["000-requested.json", "001-approved.json", "002-completed.json", `compromised-${oldVersion}.json`]);
  }, 300_000);

  it("an expired request is cancelled and recorded; nothing rotates", async () => {
    await killRunner();
    await startRunner(settingsWith("short-window", { APPROVAL_WINDOW: "PT3S" }));
    const key = await hsm().createEcKey("short-lived", { curve: "P-256", keyOps: ["sign", "verify"] });
    const id = await requestEmergency("short-lived", "policy", "CHG-1");
    const expired = await waitForRequest(id, (r) => r.status !== "pending", 60_000);
    expect(expired.status).toBe("expired");
    const late = await cli(["approve", id, "--as", APPROVER1 as string]);
    expect(late.code).toBe(1);
    expect(late.stderr).toMatch(/expired, not pending/);
    expect(await versions("short-lived")).toEqual([key.properties.version]);
    expect((await auditBlobs(id)).filter((b) => !b.startsWith("refused-"))).toEqual(["000-requested.json", "001-expired.json"]);
  }, 180_000);

  it("kill the runner while a request waits: after a restart it still waits, approvals given are kept, the same approver counts once", async () => {
    await killRunner();
    const twoApprovals = settingsWith("two-approvals", { APPROVAL_POLICY: "emergencyRotation=2" });
    await startRunner(twoApprovals);
    const key = await hsm().createRsaKey("restart-key", { keySize: 2048, keyOps: ["wrapKey", "unwrapKey"] });
    const id = await requestEmergency("restart-key", "other", "CHG-2");
    expect((await cli(["approve", id, "--as", APPROVER1 as string])).code).toBe(0);
    await waitForRequest(id, (r) => r.approvers.length === 1);
    const again = await cli(["approve", id, "--as", APPROVER1 as string]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/counts once/);
    expect((await requests()).find((r) => r.request === id)).toMatchObject({ status: "pending", approvers: [APPROVER1], required: 2 });

    await killRunner(); // SIGKILL while the request waits on its event and timer
    await startRunner(twoApprovals);
    expect((await requests()).find((r) => r.request === id)).toMatchObject({ status: "pending", approvers: [APPROVER1] });
    expect(await versions("restart-key")).toEqual([key.properties.version]);

    const second = await cli(["approve", id, "--as", APPROVER2 as string]);
    expect(second.code, second.stderr).toBe(0);
    const done = await waitForRequest(id, (r) => r.status === "completed" || r.status === "failed");
    expect(done).toMatchObject({ status: "completed", approvers: [APPROVER1, APPROVER2] });
    expect(await versions("restart-key")).toHaveLength(2);
  }, 240_000);

  it("a rejection ends the request; --as is refused outside the local stack", async () => {
    const id = await requestEmergency("restart-key", "policy", "CHG-3");
    const rejected = await cli(["reject", id, "--reason", "not needed", "--as", APPROVER2 as string]);
    expect(rejected.code, rejected.stderr).toBe(0);
    const row = await waitForRequest(id, (r) => r.status !== "pending");
    expect(row.status).toBe("rejected");
    const azure = settingsWith("azure-like", { HSM_EMULATOR: "false", AUTH_TOKEN_SECRET_FILE: "" });
    const run = await runCliProcess(["approve", id, "--as", APPROVER1 as string, "--settings", azure, "--app-url", child?.ready.url ?? ""]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/--as is for the local stack only/);
  }, 120_000);

  it("decisions count against APPROVERS as they are at decision time: one removed after the request is refused, one added since counts", async () => {
    await killRunner();
    await startRunner(settingsWith("approvers-before", { APPROVAL_POLICY: "emergencyRotation=2", APPROVERS: `${APPROVER1},${APPROVER2}` }));
    const key = await hsm().createEcKey("list-changes", { curve: "P-256", keyOps: ["sign", "verify"] });
    const id = await requestEmergency("list-changes", "policy", "CHG-4");
    // The bank removes APPROVER1 (left, or compromised) and adds APPROVER3 while the request waits.
    await killRunner();
    await startRunner(settingsWith("approvers-after", { APPROVAL_POLICY: "emergencyRotation=2", APPROVERS: `${APPROVER2},${APPROVER3}` }));

    const removed = await cli(["approve", id, "--as", APPROVER1 as string, "--json"]);
    expect(removed.code).toBe(1);
    expect(removed.stderr).toMatch(/not listed in APPROVERS/);
    expect(JSON.parse(removed.stdout)).toMatchObject({ error: { code: "Forbidden", reason: "notApprover" } });
    expect((await requests()).find((r) => r.request === id)).toMatchObject({ status: "pending", approvers: [] });
    // Raised around the route (as only a holder of the durable system key can): the request reads APPROVERS itself,
    // so the outsider named in the event is refused and recorded, and nothing counts.
    const forged = await fetch(`${child?.ready.url ?? ""}/runtime/webhooks/durabletask/instances/${id}/raiseEvent/decision`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ principal: { oid: OUTSIDER, groups: [] }, action: "approve", approvers: "current", at: new Date().toISOString() }),
    });
    expect(forged.status).toBe(202);
    for (let i = 0; !(await auditBlobs(id)).includes("001-refused.json"); i++) {
      if (i > 60) throw new Error(`the forged decision was not refused: ${JSON.stringify(await auditBlobs(id))}`);
      await sleep(500);
    }
    expect((await requests()).find((r) => r.request === id)).toMatchObject({ status: "pending", approvers: [] });

    const added = await cli(["approve", id, "--as", APPROVER3 as string]);
    expect(added.code, added.stderr).toBe(0);
    // The request itself counts the new approver (its check uses the same list as the route's).
    const counted = await waitForRequest(id, (r) => r.approvers.length > 0, 30_000);
    expect(counted).toMatchObject({ status: "pending", approvers: [APPROVER3] });
    expect(await versions("list-changes")).toEqual([key.properties.version]);

    expect((await cli(["approve", id, "--as", APPROVER2 as string])).code).toBe(0);
    const done = await waitForRequest(id, (r) => r.status === "completed" || r.status === "failed");
    expect(done).toMatchObject({ status: "completed", approvers: [APPROVER3, APPROVER2] });
    expect(await versions("list-changes")).toHaveLength(2);
    const blobs = await auditBlobs(id);
    // One refusal at the route (the removed approver), one by the request (the forged outsider).
    expect(blobs.filter((b) => b.startsWith("refused-"))).toHaveLength(1);
    expect(blobs.filter((b) => !b.startsWith("refused-"))).toEqual(["000-requested.json", "001-refused.json", "002-approved.json", "003-approved.json", "004-completed.json"]);
    // The request index the listing reads: opened by the route, closed by the final step.
    const pacing = BlobServiceClient.fromConnectionString(stack.storageConnectionString).getContainerClient("rotation-pacing");
    const indexed: string[] = [];
    for await (const b of pacing.listBlobsFlat({ prefix: `requests/${id}/` })) indexed.push(b.name);
    expect(indexed.sort()).toEqual([`requests/${id}/closed.json`, `requests/${id}/opened.json`]);
  }, 240_000);
});
