/**
 * Early disabling of one superseded key version end to end on the local stack: the real CLI as operator and
 * approvers (`--as OID`), the app in a runner child process acting as the rotation identity, the emulator enforcing
 * its RBAC. Refusals come before any request is made; two distinct approvals disable exactly the named version.
 * Build first (`npx tsc -p tsconfig.json`).
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
import { requestPolling, startRequestStack, type RequestStack } from "./requestStackSupport";

const OPERATOR = STACK_PEOPLE.operator;
const [APPROVER1, APPROVER2] = STACK_PEOPLE.approvers as readonly string[];
const KEY = "ledger-sign";

let stack: LocalStack;
let running: RequestStack | undefined;
let child: RunnerChild;

async function cli(args: string[]): Promise<CliRun> {
  return runCliProcess([...args, "--settings", stack.settingsFile, "--app-url", child.ready.url]);
}

const { rows, waitFor } = requestPolling<{ kind: string; version?: string; current?: string; audit?: string }>(cli, () => child.stderr());

function disable(version: string): Promise<CliRun> {
  return cli(["disable", "--instance", "primary", "--key", KEY, "--version", version, "--reason", "consumer migrated early", "--ticket", "CHG-2207", "--as", OPERATOR, "--json"]);
}

function hsm(): KeyClient {
  return new KeyClient(stack.urls.primary, stack.adminCredential, stack.clientOptions());
}

beforeAll(async () => {
  running = await startRequestStack("early-disable-");
  ({ stack, child } = running);
}, 180_000);

afterAll(async () => {
  await running?.close();
}, 60_000);

describe("early disable under dual control", () => {
  it("refuses the current version, an unknown version and a bad name before any request; disables the older version after two distinct approvals", async () => {
    const older = (await hsm().createRsaKey(KEY, { keySize: 2048, keyOps: ["sign", "verify"] })).properties.version ?? "";
    const newer = await hsm().createRsaKey(KEY, { keySize: 2048, keyOps: ["sign", "verify"] });
    const current = newer.properties.version ?? "";
    expect(current).not.toBe(older);

    // Refused before a request is made: the current version, a version the key does not have, a key that does not exist.
    const ofCurrent = await disable(current);
    expect(ofCurrent.code, ofCurrent.stdout).toBe(1);
    expect(ofCurrent.stderr).toMatch(/\[Conflict\].*is the key's current version.*Fix: rotate first/);
    const ofUnknown = await disable("0123456789abcdef0123456789abcdef");
    expect(ofUnknown.code).toBe(1);
    expect(ofUnknown.stderr).toMatch(/\[NotFound\].*has no version "0123456789abcdef0123456789abcdef"/);
    const noKey = await cli(["disable", "--instance", "primary", "--key", "no-such-key", "--version", older, "--reason", "x", "--ticket", "CHG-1", "--as", OPERATOR]);
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toMatch(/\[KeyNotFound\].*no key "no-such-key"/);
    const badVersion = await cli(["disable", "--instance", "primary", "--key", KEY, "--version", "../x", "--reason", "x", "--ticket", "CHG-1", "--as", OPERATOR]);
    expect(badVersion.code).toBe(2);
    const badName = await cli(["disable", "--instance", "primary", "--key", "bad_name", "--version", older, "--reason", "x", "--ticket", "CHG-1", "--as", OPERATOR]);
    // A bad name is a usage error (exit 2), refused by the CLI before it calls the app.
    expect(badName.code).toBe(2);
    expect(badName.stderr).toMatch(/--key/);
    const outsider = await cli(["disable", "--instance", "primary", "--key", KEY, "--version", older, "--reason", "x", "--ticket", "CHG-1", "--as", STACK_PEOPLE.outsider]);
    expect(outsider.code).toBe(1);
    expect(outsider.stderr).toMatch(/not listed in OPERATORS/);
    const unknownInstance = await cli(["disable", "--instance", "nowhere", "--key", KEY, "--version", older, "--reason", "x", "--ticket", "CHG-1", "--as", OPERATOR]);
    expect(unknownInstance.code).toBe(1);
    expect(unknownInstance.stderr).toMatch(/not a configured instance/);
    expect((await rows()).filter((r) => r.operation === "earlyDisable")).toEqual([]);

    const run = await disable(older);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(3);
    const body = JSON.parse(run.stdout) as { request: string; status: string; operation: string; required: number; version: string };
    expect(body).toMatchObject({ status: "pending", operation: "earlyDisable", required: 2, version: older });
    const id = body.request;
    const since = new Date().toISOString();

    expect((await cli(["approve", id, "--as", APPROVER1!])).code).toBe(0);
    // Approvers see which version they approve disabling.
    const listed = await cli(["requests"]);
    expect(listed.stdout).toContain(`${id} earlyDisable primary/${KEY}/${older}: pending`);
    const afterOne = await waitFor(id, (r) => r.approvers.length === 1);
    // One approval is not enough: still pending, and the version still enabled.
    expect(afterOne.status).toBe("pending");
    expect((await hsm().getKey(KEY, { version: older })).properties.enabled).toBe(true);
    // The same approver again counts once.
    expect((await cli(["approve", id, "--as", APPROVER1!])).stdout).toMatch(/already approved/);
    expect((await hsm().getKey(KEY, { version: older })).properties.enabled).toBe(true);

    expect((await cli(["approve", id, "--as", APPROVER2!])).code).toBe(0);
    const done = await waitFor(id, (r) => r.status === "completed" || r.status === "failed");
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(done.approvers).toEqual([APPROVER1, APPROVER2]);
    expect(done.result).toMatchObject({ kind: "disabled", version: older, current, audit: `rotation/requests/${id}/disabled-${older}.json` });

    // The HSM's own audit log: one update, of that version, by the rotation identity.
    const audit = await stack.control("primary", "GET", `/_emulator/audit?since=${encodeURIComponent(since)}`);
    expect(audit.status).toBe(200);
    const updates = (audit.body as { value: Array<{ operationName: string; resultType: string; properties: { requestUri: string }; identity: { claim: { oid?: string } } }> }).value.filter((r) => r.operationName === "KeyUpdate");
    expect(updates.map((r) => `${r.resultType} ${r.identity.claim.oid}`)).toEqual([`Success ${STACK_IDENTITIES.rotation}`]);
    expect(updates[0]?.properties.requestUri).toContain(`/keys/${KEY}/${older}`);

    // Exactly that version is disabled, read with the real SDK; the current one still signs.
    expect((await hsm().getKey(KEY, { version: older })).properties.enabled).toBe(false);
    const now = await hsm().getKey(KEY);
    expect(now.properties.version).toBe(current);
    expect(now.properties.enabled).toBe(true);
    const digest = createHash("sha256").update("still signing").digest();
    const crypto = new CryptographyClient(now, stack.adminCredential, stack.clientOptions());
    expect((await crypto.verify("RS256", digest, (await crypto.sign("RS256", digest)).result)).result).toBe(true);

    const service = BlobServiceClient.fromConnectionString(stack.storageConnectionString).getContainerClient(STACK_CONTAINERS.audit);
    const record = JSON.parse((await service.getBlobClient(`rotation/requests/${id}/disabled-${older}.json`).downloadToBuffer()).toString("utf8")) as Record<string, unknown>;
    expect(record).toMatchObject({ schema: "hsm-lifecycle/audit/early-disable", request: id, ticket: "CHG-2207", instance: "primary", keyName: KEY, version: older, outcome: "disabled", kind: "verified", enabled: false, current });
    const steps: string[] = [];
    for await (const b of service.listBlobsFlat({ prefix: `rotation/requests/${id}/` })) steps.push(b.name.slice(`rotation/requests/${id}/`.length));
    expect(steps.sort()).toEqual(["000-requested.json", "001-approved.json", "002-approved.json", "003-completed.json", `disabled-${older}.json`]);

    // Now disabled, it is refused before a request is made.
    const again = await disable(older);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/\[Conflict\].*is already disabled/);
  }, 300_000);
});
