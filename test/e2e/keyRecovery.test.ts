/**
 * Key recovery end to end on the local stack: a real backup through the app (`hsm-lifecycle backup`), then the real
 * CLI as operator and approvers (`--as OID`), the app in a runner child process acting as the recovery identity, the
 * emulator enforcing its RBAC. A purged key comes back from the backup (selective restore) with every version; a
 * soft-deleted key is recovered instead. Build first (`npx tsc -p tsconfig.json`).
 */
import { createHash } from "node:crypto";
import { CryptographyClient, KeyClient } from "@azure/keyvault-keys";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "../../dev/localStack";
import { STACK_IDENTITIES, STACK_PEOPLE } from "../../dev/stackIdentities";
import { STACK_CONTAINERS } from "../../dev/stackSettings";
import type { RunnerChild } from "../runner/runnerProcess";
import { runCliProcess, type CliRun } from "../support/runCliProcess";
import { requestPolling, startRequestStack, type RequestRow, type RequestStack } from "./requestStackSupport";

const OPERATOR = STACK_PEOPLE.operator;
const [APPROVER1, APPROVER2] = STACK_PEOPLE.approvers as readonly string[];

let stack: LocalStack;
let running: RequestStack | undefined;
let child: RunnerChild;

async function cli(args: string[]): Promise<CliRun> {
  return runCliProcess([...args, "--settings", stack.settingsFile, "--app-url", child.ready.url]);
}

type RecoveryResult = { kind: string; versions?: string[]; version?: string; folder?: string; audit?: string; code?: string; message?: string };
const { waitFor } = requestPolling<RecoveryResult>(cli, () => child.stderr());

async function requestRecovery(key: string, extra: string[] = []): Promise<string> {
  const run = await cli(["recover", "--instance", "primary", "--key", key, ...extra, "--as", OPERATOR, "--json"]);
  expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(3);
  const body = JSON.parse(run.stdout) as { request: string; status: string; operation: string; required: number };
  expect(body).toMatchObject({ status: "pending", operation: "keyRecovery", required: 2 });
  return body.request;
}

function hsm(): KeyClient {
  return new KeyClient(stack.urls.primary, stack.adminCredential, stack.clientOptions());
}

async function versions(name: string): Promise<string[]> {
  const out: string[] = [];
  for await (const v of hsm().listPropertiesOfKeyVersions(name)) out.push(v.version ?? "");
  return out.sort();
}

async function auditRecord(id: string): Promise<Record<string, unknown>> {
  const service = BlobServiceClient.fromConnectionString(stack.storageConnectionString);
  const buf = await service.getContainerClient(STACK_CONTAINERS.audit).getBlobClient(`recovery/${id}.json`).downloadToBuffer();
  return JSON.parse(buf.toString("utf8")) as Record<string, unknown>;
}

async function approveBoth(id: string, key: string): Promise<RequestRow<RecoveryResult>> {
  const first = await cli(["approve", id, "--as", APPROVER1!]);
  expect(first.code, first.stderr).toBe(0);
  const afterOne = await waitFor(id, (r) => r.approvers.length === 1);
  // One approval is not enough: still pending, and the key is still gone.
  expect(afterOne.status).toBe("pending");
  await expect(hsm().getKey(key)).rejects.toMatchObject({ statusCode: 404 });
  const second = await cli(["approve", id, "--as", APPROVER2!]);
  expect(second.code, second.stderr).toBe(0);
  return waitFor(id, (r) => r.status === "completed" || r.status === "failed");
}

/** The HSM's own audit log since `since`: who did which of the recovery operations. */
async function hsmAudit(since: string): Promise<string[]> {
  const res = await stack.control("primary", "GET", `/_emulator/audit?since=${encodeURIComponent(since)}`);
  expect(res.status).toBe(200);
  const records = (res.body as { value: Array<{ operationName: string; resultType: string; identity: { claim: { oid?: string } } }> }).value;
  return records.filter((r) => ["SelectiveKeyRestore", "KeyRecover", "KeyPurge", "KeyDelete"].includes(r.operationName)).map((r) => `${r.operationName} ${r.resultType} ${r.identity.claim.oid}`);
}

beforeAll(async () => {
  running = await startRequestStack("key-recovery-");
  ({ stack, child } = running);
}, 180_000);

afterAll(async () => {
  await running?.close();
}, 60_000);

describe("key recovery under dual control", () => {
  it("a purged key comes back from the newest verified backup with every version, after two approvals, and verifies old signatures", async () => {
    const first = await hsm().createRsaKey("escrow-sign", { keySize: 2048, keyOps: ["sign", "verify"] });
    // More versions: creating a key of an existing name adds a version.
    await hsm().createRsaKey("escrow-sign", { keySize: 2048, keyOps: ["sign", "verify"] });
    const current = await hsm().createRsaKey("escrow-sign", { keySize: 2048, keyOps: ["sign", "verify"] });
    const before = await versions("escrow-sign");
    expect(before).toHaveLength(3);
    const digest = createHash("sha256").update("signed before the purge").digest();
    const signature = (await new CryptographyClient(current, stack.adminCredential, stack.clientOptions()).sign("RS256", digest)).result;
    const backup = await cli(["backup", "--hsm", "primary", "--json"]);
    expect(backup.code, `${backup.stdout}\n${backup.stderr}`).toBe(0);

    await (await hsm().beginDeleteKey("escrow-sign", { intervalInMs: 100 })).pollUntilDone();
    await hsm().purgeDeletedKey("escrow-sign");
    // A folder that is not a verified backup in the container: refused, nothing started.
    const badFolder = await cli(["recover", "--instance", "primary", "--key", "escrow-sign", "--backup", "primary-20000101t000000z", "--as", OPERATOR, "--json"]);
    expect(badFolder.code).toBe(1);
    expect(badFolder.stderr).toMatch(/NoVerifiedBackup.*not a verified backup of primary/);

    const since = new Date().toISOString();
    const id = await requestRecovery("escrow-sign", ["--ticket", "INC-9001"]);
    const own = await cli(["approve", id, "--as", OPERATOR]);
    expect(own.code).toBe(1);
    const done = await approveBoth(id, "escrow-sign");
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(done.approvers).toEqual([APPROVER1, APPROVER2]);
    expect(done.result?.kind).toBe("restored");
    expect(await versions("escrow-sign")).toEqual(before);
    expect([...(done.result?.versions ?? [])].sort()).toEqual(before);
    const back = await hsm().getKey("escrow-sign");
    expect(back.properties.version).toBe(current.properties.version);
    const crypto = new CryptographyClient(back, stack.adminCredential, stack.clientOptions());
    expect((await crypto.verify("RS256", digest, signature)).result).toBe(true);
    expect((await hsm().getKey("escrow-sign", { version: first.properties.version ?? "" })).key?.n).toEqual(first.key?.n);
    const audit = await auditRecord(id);
    expect(audit).toMatchObject({ path: "restored", kind: "verified", keyName: "escrow-sign", instance: "primary" });
    expect(audit["folder"]).toBe(done.result?.folder);
    // The HSM saw a selective restore (its start and its completion), by the recovery identity, and no recover.
    expect([...new Set(await hsmAudit(since))]).toEqual([`SelectiveKeyRestore Success ${STACK_IDENTITIES.recovery}`]);
  }, 300_000);

  it("a soft-deleted key is recovered, not restored; an existing key or unknown instance is refused", async () => {
    await hsm().createEcKey("soft-gone", { curve: "P-256", keyOps: ["sign", "verify"] });
    const current = await hsm().createEcKey("soft-gone", { curve: "P-256", keyOps: ["sign", "verify"] });
    const before = await versions("soft-gone");

    const exists = await cli(["recover", "--instance", "primary", "--key", "soft-gone", "--as", OPERATOR, "--json"]);
    expect(exists.code).toBe(1);
    expect(exists.stderr).toMatch(/Conflict.*not deleted: nothing to recover/);
    const unknown = await cli(["recover", "--instance", "nowhere", "--key", "soft-gone", "--as", OPERATOR, "--json"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/nowhere/);

    const badName = await cli(["recover", "--instance", "primary", "--key", "no_such/key", "--as", OPERATOR]);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toMatch(/--key .* is not a name/);

    await (await hsm().beginDeleteKey("soft-gone", { intervalInMs: 100 })).pollUntilDone();
    const outsider = await cli(["recover", "--instance", "primary", "--key", "soft-gone", "--as", STACK_PEOPLE.outsider]);
    expect(outsider.code).toBe(1);
    expect(outsider.stderr).toMatch(/not listed in OPERATORS/);
    const since = new Date().toISOString();
    const id = await requestRecovery("soft-gone");
    const done = await approveBoth(id, "soft-gone");
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(done.result?.kind).toBe("recovered");
    expect(done.result?.folder).toBeUndefined();
    expect(await versions("soft-gone")).toEqual(before);
    expect((await hsm().getKey("soft-gone")).properties.version).toBe(current.properties.version);
    expect(await auditRecord(id)).toMatchObject({ path: "recovered", kind: "verified" });
    // Recovered, not restored: the HSM saw one KeyRecover by the recovery identity and no restore.
    expect(await hsmAudit(since)).toEqual([`KeyRecover Success ${STACK_IDENTITIES.recovery}`]);
  }, 240_000);
});
