/**
 * The rotation workflow end to end: the real function app (dist/functions) on the offline runner (virtual
 * clock), the emulator (HSM `primary`, vault `app`, topic `lifecycle`, identity endpoint) and Azurite, all
 * from dev/localStack. The app authenticates as the rotation identity (least privilege) through the real
 * ManagedIdentityCredential; events travel vault/topic → Event Grid delivery → runner webhook → keyEventGrid.
 *
 * Clock alignment: every rotation decision uses the orchestration's `currentUtcDateTime` (runner clock), and
 * keys are created relative to the emulator's clock, which starts equal to real time. The runner's virtual
 * clock only jumps forward when a durable timer (the grace period) is due; the test then shifts the emulator
 * by the same grace period, so both clocks agree again on "the grace period has passed".
 * Build first (`npx tsc -p tsconfig.json`): the stack runs dist/emulator and the runner loads dist/functions.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KeyClient, type KeyProperties } from "@azure/keyvault-keys";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack, type LocalStack } from "../../dev/localStack";
import { STACK_IDENTITIES } from "../../dev/stackIdentities";
import type { Runner } from "../../runner/index";
import { eventTypeName } from "../../runner/historyEvents";
import { createKeyClients } from "../../shared/hsm/keyClients";
import { planRotationRun, type RotationPlanReport } from "../../shared/rotation/activities/plan";
import { rotationInstanceId } from "../../shared/rotation/rotationIds";
import { orchestrationNames, triggerNames } from "../../shared/names";
import { retirementInstanceId, recordInstanceId } from "../../shared/rotation/dedupe";
import { sweepInstanceId } from "../../shared/rotation/activities/sweepStarter";
import type { RotateKeyOutput, RotationSweepOutput, RetireVersionsOutput, RecordKeyVersionOutput } from "../../shared/rotation/types";

const DAY = 86_400_000;
const policyText = JSON.stringify({
  version: 1,
  defaults: { gracePeriod: "P2D", notifyBefore: ["P30D", "P7D", "P1D"] },
  exclusions: [{ keyName: "legacy-*", reason: "legacy consumers pin versions" }],
  rules: [
    { name: "hsm-keys", instances: ["primary"], rotateBeforeExpiry: "P30D", newVersionExpiry: "P180D" },
    { name: "vault-keys", instances: ["app"], rotateBeforeExpiry: "P14D", newVersionExpiry: "P90D" },
  ],
});

let stack: LocalStack;
let runner: Runner;
let dir: string;
let hsm: KeyClient;
let vault: KeyClient;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Lets the runner work (firing due durable timers on its virtual clock) until `done` holds. */
async function settle(done: () => boolean | Promise<boolean>, what: string, timeoutMs = 90_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    await runner.waitForIdle();
    if (await done()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}. Instances: ${JSON.stringify(runner.summary().instances.slice(-10))}`);
    await sleep(150);
  }
}

function status(id: string): string | undefined {
  return runner.host.get(id)?.runtimeStatus;
}

function output<T>(id: string): T {
  const rec = runner.host.get(id);
  if (rec?.output == null) throw new Error(`instance ${id} has no output (status ${rec?.runtimeStatus})`);
  return JSON.parse(rec.output) as T;
}

const terminal = (id: string): boolean => ["Completed", "Failed", "Terminated"].includes(status(id) ?? "");

async function versionsOf(client: KeyClient, name: string): Promise<KeyProperties[]> {
  const out: KeyProperties[] = [];
  for await (const v of client.listPropertiesOfKeyVersions(name)) out.push(v);
  return out;
}

async function currentVersion(client: KeyClient, name: string): Promise<string> {
  return (await client.getKey(name)).properties.version ?? "";
}

/** Posts one Event Grid event to the runner's webhook, as Event Grid delivers it. */
async function deliver(event: unknown): Promise<number> {
  const res = await fetch(`${runner.url}/runtime/webhooks/EventGrid?functionName=${triggerNames.keyEventGrid}`, {
    method: "POST",
    headers: { "content-type": "application/json", "aeg-event-type": "Notification" },
    body: JSON.stringify([event]),
  });
  await res.text();
  return res.status;
}

function vaultEvent(type: string, vaultName: string, keyId: string, name: string, version: string, exp: Date): Record<string, unknown> {
  return {
    id: `evt-${name}-${version}-${type}`,
    topic: `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/hsm-lifecycle-emulator/providers/Microsoft.KeyVault/vaults/${vaultName}`,
    subject: name,
    eventType: type,
    eventTime: new Date().toISOString(),
    dataVersion: "1",
    metadataVersion: "1",
    data: { Id: keyId, VaultName: vaultName, ObjectType: "Key", ObjectName: name, Version: version, NBF: null, EXP: Math.floor(exp.getTime() / 1000) },
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "rotation-e2e-"));
  writeFileSync(join(dir, "rotation-policy.json"), policyText);
  stack = await startLocalStack({ stateDir: dir, runner: { clock: "virtual", port: 0 }, azuriteInMemory: true });
  if (stack.runner === undefined) throw new Error("the stack started no runner");
  runner = stack.runner;
  hsm = new KeyClient(stack.urls.primary, stack.adminCredential, stack.clientOptions());
  vault = new KeyClient(stack.urls.vault, stack.adminCredential, stack.clientOptions());
}, 120_000);

afterAll(async () => {
  await stack?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe("rotation sweep (timer) on the HSM", () => {
  const now = Date.now();
  let planDue: string[] = [];

  it("plan (dry run) lists what is due and why, changing nothing", async () => {
    await hsm.createRsaKey("pay-near", { keySize: 2048, keyOps: ["sign", "verify"], expiresOn: new Date(now + 10 * DAY) });
    await hsm.createOctKey("wrap-near", { hsm: true, keySize: 256, keyOps: ["wrapKey", "unwrapKey", "encrypt", "decrypt"], expiresOn: new Date(now + 20 * DAY) });
    await hsm.createEcKey("sign-far", { curve: "P-256", keyOps: ["sign", "verify"], expiresOn: new Date(now + 200 * DAY) });
    await hsm.createRsaKey("legacy-near", { keySize: 2048, keyOps: ["sign", "verify"], expiresOn: new Date(now + 5 * DAY) });
    // The dry run over HTTP (rotationPlanHttp), as an operator or the CLI calls it.
    const res = await fetch(`${runner.url}/api/rotation/plan`);
    expect(res.status).toBe(200);
    const report = (await res.json()) as RotationPlanReport;
    expect(report.violations).toEqual([]);
    const plan = report.instances.find((i) => i.name === "primary");
    expect(plan?.listed).toBe(4);
    planDue = (plan?.rotate ?? []).map((d) => d.name).sort();
    expect(planDue).toEqual(["pay-near", "wrap-near"]);
    expect(plan?.rotate.every((d) => d.decision.reason === "nearExpiry" && d.decision.rule === "hsm-keys")).toBe(true);
    // legacy-near is excluded, so nobody rotates it: it still gets its notice (stage of the rule it would fall under).
    expect(plan?.notices.map((n) => `${n.name}:${n.stage}`).sort()).toEqual(["legacy-near:P7D", "pay-near:P30D", "wrap-near:P30D"]);
    expect(plan?.skip.find((s) => s.key === "legacy-near")?.decision).toMatchObject({ kind: "skip", reason: "excluded", notice: "P7D" });
    expect(plan?.skip.find((s) => s.key === "sign-far")?.decision).toMatchObject({ kind: "skip", reason: "notDue" });
    // The same plan from the function the CLI calls directly, as the operator (read-only).
    const configured = {
      hsms: [{ name: "primary", kind: "managedHsm", url: stack.urls.primary, role: "primary" }] as const,
      vaults: [{ name: "app", kind: "vault", url: stack.urls.vault, role: "primary" }] as const,
    };
    const direct = await planRotationRun(
      { ...configured, rotation: { policyFile: join(dir, "rotation-policy.json"), batchSize: 50 } },
      { clients: createKeyClients(stack.adminCredential, { ca: stack.caPem, emulatorMode: true }), instances: [...configured.hsms, ...configured.vaults] },
    );
    expect(direct.violations).toEqual([]);
    expect(direct.instances.find((i) => i.name === "primary")?.rotate.map((d) => d.name).sort()).toEqual(planDue);
    for (const name of ["pay-near", "wrap-near", "sign-far", "legacy-near"]) expect(await versionsOf(hsm, name)).toHaveLength(1);
  }, 120_000);

  it("keys near expiry rotate once each, verified, exactly as planned; the notices go out; a second timer run starts nothing", async () => {
    const before = { pay: await currentVersion(hsm, "pay-near"), wrap: await currentVersion(hsm, "wrap-near") };
    expect(await runner.fireTimer(triggerNames.rotationSweepTimer)).toBe(true);
    // The timer invocation uses the wall clock for the day; the runner may already be on a later virtual day.
    const sweepIds = (): string[] => [...runner.startedInstances].filter((id) => id.startsWith("sweep:"));
    await settle(() => sweepIds().length === 1 && terminal(sweepIds()[0]!), "the sweep");
    const sweepId = sweepIds()[0]!;
    expect(sweepId).toBe(sweepInstanceId({ hsms: [{ name: "primary", kind: "managedHsm", url: stack.urls.primary, role: "primary" }, { name: "dr", kind: "managedHsm", url: stack.urls.dr, role: "drillTarget" }], vaults: [{ name: "app", kind: "vault", url: stack.urls.vault, role: "primary" }] }, new Date()));
    expect(status(sweepId), runner.host.get(sweepId)?.output ?? "").toBe("Completed");
    const sweep = output<RotationSweepOutput>(sweepId);
    const primary = sweep.instances.find((i) => i.name === "primary");
    expect(primary).toMatchObject({ listed: 4, due: 2, notices: 3, noticesPublished: 3 });
    expect(sweep.failures).toEqual([]);

    const rotated: string[] = [];
    for (const [name, version] of [["pay-near", before.pay], ["wrap-near", before.wrap]] as const) {
      const id = rotationInstanceId({ vaultUrl: stack.urls.primary, name, version });
      // The sweep's sub-orchestration, or the remediation path from the notice the sweep published: one of them.
      await settle(() => terminal(id), `rotation ${id}`);
      const out = output<RotateKeyOutput>(id);
      expect(out.kind === "rotated" || out.kind === "alreadyRotated", JSON.stringify(out)).toBe(true);
      if (out.kind !== "rotated" && out.kind !== "alreadyRotated") continue;
      expect(out.previousVersion).toBe(version);
      expect(out.checks.length).toBeGreaterThan(0);
      expect(out.published).toBe(true);
      const versions = await versionsOf(hsm, name);
      expect(versions, `${name} must have exactly one new version`).toHaveLength(2);
      const current = await hsm.getKey(name);
      expect(current.properties.version).toBe(out.version);
      // New version expiry = its creation + the rule's P180D.
      expect(Math.abs((current.properties.expiresOn?.getTime() ?? 0) - ((current.properties.createdOn?.getTime() ?? 0) + 180 * DAY))).toBeLessThan(2000);
      rotated.push(name);
    }
    expect(rotated.sort()).toEqual(planDue);
    // Each rotation wrote its audit record (Azurite, AUDIT_CONTAINER) next to the KeyRotated event.
    const audit = BlobServiceClient.fromConnectionString(stack.storageConnectionString).getContainerClient(stack.settings["AUDIT_CONTAINER"] ?? "");
    for (const name of planDue) {
      const blobs: string[] = [];
      for await (const b of audit.listBlobsFlat({ prefix: `rotation/primary/${name}/` })) blobs.push(b.name);
      expect(blobs.filter((b) => b.endsWith("-KeyRotated.json"))).toHaveLength(1);
      const record = JSON.parse((await audit.getBlobClient(blobs[0] ?? "").downloadToBuffer()).toString("utf8")) as { data: { keyName: string; previousVersion: string }; event: { kind: string } };
      expect(record.data.keyName).toBe(name);
      expect(record.event.kind).toBe("published");
    }
    for (const name of ["sign-far", "legacy-near"]) expect(await versionsOf(hsm, name)).toHaveLength(1);

    // Same day, same instance set: the singleton sweep is not started again.
    expect(await runner.fireTimer(triggerNames.rotationSweepTimer)).toBe(true);
    await runner.waitForIdle();
    expect(sweepIds()).toHaveLength(1);
    for (const name of ["pay-near", "wrap-near"]) expect(await versionsOf(hsm, name)).toHaveLength(2);
  }, 120_000);

  it("old versions are disabled after the grace period (P2D), never purged", async () => {
    const name = "pay-near";
    const versions = await versionsOf(hsm, name);
    const current = await currentVersion(hsm, name);
    const old = versions.find((v) => v.version !== current)?.version ?? "";
    const retireId = retirementInstanceId(rotationInstanceId({ vaultUrl: stack.urls.primary, name, version: old }), current);
    // Keep the emulator's clock with the runner's: the runner jumps over the P2D timer when idle.
    await stack.shiftClock("primary", 2 * 86_400 + 60);
    await settle(() => terminal(retireId), `retirement ${retireId}`);
    const out = output<RetireVersionsOutput>(retireId);
    // It slept through the grace period on a durable timer (the runner's clock jumped) before its one pass.
    expect(out.passes).toBe(1);
    const timers = (runner.host.get(retireId)?.history ?? []).filter((e) => e.EventType === 10 /* TimerCreated */);
    expect(timers.length).toBeGreaterThan(0);
    const createdOn = (await hsm.getKey(name)).properties.createdOn?.getTime() ?? 0;
    const lastFireAt = Math.max(...timers.map((t) => Date.parse(t.FireAt ?? "")));
    expect(lastFireAt).toBeGreaterThanOrEqual(createdOn + 2 * DAY - 1000);
    expect(out.disabled).toEqual([old]);
    const after = await versionsOf(hsm, name);
    expect(after).toHaveLength(2);
    expect(after.find((v) => v.version === old)?.enabled).toBe(false);
    expect(after.find((v) => v.version === current)?.enabled).toBe(true);
    // Never purged: the disabled version is still there and readable.
    expect((await hsm.getKey(name, { version: old })).properties.enabled).toBe(false);
  }, 120_000);

  it("the next sweep rotates a key it rotated before with three HSM requests: no GET, the previous version exercised from the key's version record", async () => {
    const name = "pay-near";
    const previous = await currentVersion(hsm, name);
    const emulatorNow = Date.parse((await stack.control("primary", "GET", "/_emulator/clock")).body.now as string);
    await hsm.updateKeyProperties(name, previous, { expiresOn: new Date(emulatorNow + 10 * DAY) });
    // The sweep's discovery GETs a key only when its two newest versions share a creation second (the listing cannot
    // tell which is current): the first test's rotation may well have come within the second of the key's creation.
    const seconds = (await versionsOf(hsm, name)).map((v) => Math.floor((v.createdOn?.getTime() ?? 0) / 1000)).sort((a, b) => b - a);
    const discoveryGet = seconds.length > 1 && seconds[0] === seconds[1];
    const id = "sweep:steady-state";
    const since = new Date(emulatorNow).toISOString();
    runner.host.startNew(orchestrationNames.rotationSweep, id, { trigger: "schedule" });
    const rotationId = rotationInstanceId({ vaultUrl: stack.urls.primary, name, version: previous });
    await settle(() => terminal(id) && terminal(rotationId), "the second sweep and its rotation");
    const out = output<RotateKeyOutput>(rotationId);
    expect(out).toMatchObject({ kind: "rotated", previousVersion: previous });
    const rows = (await stack.control("primary", "GET", `/_emulator/audit?since=${encodeURIComponent(since)}`)).body.value as { operationName: string; identity?: { claim?: { oid?: string } }; properties: { requestUri: string } }[];
    const onKey = rows
      .filter((r) => r.identity?.claim?.oid === STACK_IDENTITIES.rotation && new URL(r.properties.requestUri).pathname.split("/")[2] === name)
      .map((r) => `${r.operationName} ${new URL(r.properties.requestUri).pathname.toLowerCase()}`);
    // The rotate step itself read nothing: the previous version's public key came from the key's version record.
    const history = runner.host.get(rotationId)?.history ?? [];
    const scheduled = history.find((e) => eventTypeName(e.EventType) === "TaskScheduled" && e.Name === "ensurePolicyAndRotate");
    const rotateResult = JSON.parse(String(history.find((e) => eventTypeName(e.EventType) === "TaskCompleted" && e.TaskScheduledId === scheduled?.EventId)?.Result)) as { previousFrom?: string };
    expect(JSON.parse(String(scheduled?.Input))).toMatchObject({ fromVersion: previous, confirmCurrent: false });
    expect(rotateResult.previousFrom).toBe("record");
    // In order: the sweep's discovery (the versions page, and its tie-break GET if any), then the rotate, then one
    // sign on each version. (The KeyNearExpiry notice the sweep publishes afterwards starts its own, later requests.)
    const rotateAt = onKey.indexOf(`KeyRotate /keys/${name}/rotate`);
    expect(rotateAt, onKey.join("\n")).toBeGreaterThan(-1);
    expect(onKey.slice(0, rotateAt)).toEqual([`KeyListVersions /keys/${name}/versions`, ...(discoveryGet ? [`KeyGet /keys/${name}/`] : [])]);
    expect(onKey.slice(rotateAt + 1, rotateAt + 3).sort()).toEqual([`KeySign /keys/${name}/${out.kind === "rotated" ? out.version.toLowerCase() : ""}/sign`, `KeySign /keys/${name}/${previous.toLowerCase()}/sign`].sort());
    expect(await versionsOf(hsm, name)).toHaveLength(3);
  }, 120_000);
});

describe("Event Grid remediation", () => {
  it("a vault's KeyNearExpiry delivered three times rotates once", async () => {
    const exp = new Date(Date.now() + 10 * DAY);
    const key = await vault.createEcKey("app-near", { curve: "P-256", keyOps: ["sign", "verify"], expiresOn: exp });
    const version = key.properties.version ?? "";
    const event = vaultEvent("Microsoft.KeyVault.KeyNearExpiry", "app", key.id ?? "", "app-near", version, exp);
    // The vault raises its own KeyNearExpiry too (within 30 days of exp): four deliveries of one fact.
    for (let i = 0; i < 3; i++) expect(await deliver(event)).toBeLessThan(300);
    const id = rotationInstanceId({ vaultUrl: stack.urls.vault, name: "app-near", version });
    await settle(() => terminal(id), `rotation ${id}`);
    for (let i = 0; i < 3; i++) expect(await deliver(event)).toBeLessThan(300);
    await settle(() => terminal(id), `rotation ${id}`);
    expect(output<RotateKeyOutput>(id)).toMatchObject({ kind: "rotated", previousVersion: version });
    expect(await versionsOf(vault, "app-near")).toHaveLength(2);
  }, 120_000);

  it("a KeyNearExpiry the policy does not consider due yet rotates nothing (event and plan agree)", async () => {
    const exp = new Date(Date.now() + 20 * DAY); // vault-keys rotate 14 days before expiry
    const key = await vault.createRsaKey("app-soon", { keySize: 2048, keyOps: ["encrypt", "decrypt"], expiresOn: exp });
    const version = key.properties.version ?? "";
    expect(await deliver(vaultEvent("Microsoft.KeyVault.KeyNearExpiry", "app", key.id ?? "", "app-soon", version, exp))).toBeLessThan(300);
    const id = rotationInstanceId({ vaultUrl: stack.urls.vault, name: "app-soon", version });
    await settle(() => terminal(id), `decision ${id}`);
    const out = output<RotateKeyOutput>(id);
    expect(out.kind).toBe("skipped");
    expect(out.kind === "skipped" ? out.reason : "").toMatch(/notDue/);
    expect(await versionsOf(vault, "app-soon")).toHaveLength(1);
  }, 120_000);

  it("an expired key rotates immediately, without waiting for the sweep", async () => {
    const exp = new Date(Date.now() - 3_600_000);
    const key = await vault.createEcKey("app-expired", { curve: "P-256", keyOps: ["sign", "verify"], expiresOn: exp });
    const version = key.properties.version ?? "";
    // The vault raises KeyExpired on its own (its clock is past exp); no timer is fired here.
    const id = rotationInstanceId({ vaultUrl: stack.urls.vault, name: "app-expired", version });
    await settle(() => terminal(id), `rotation ${id} from the vault's KeyExpired`);
    const out = output<RotateKeyOutput>(id);
    expect(out).toMatchObject({ kind: "rotated", previousVersion: version });
    const input = JSON.parse(runner.host.get(id)?.input ?? "{}") as { trigger?: string };
    expect(input.trigger).toBe("expired");
    const current = await vault.getKey("app-expired");
    expect(current.properties.version).not.toBe(version);
    expect((current.properties.expiresOn?.getTime() ?? 0) > Date.now()).toBe(true);
  }, 120_000);

  it("events from a foreign vault, for unknown keys, or malformed start nothing", async () => {
    const before = new Set(runner.startedInstances);
    const exp = new Date(Date.now() + 5 * DAY);
    const version = "0123456789abcdef0123456789abcdef";
    // A vault that is not configured (source not in EVENT_SOURCES).
    expect(await deliver(vaultEvent("Microsoft.KeyVault.KeyNearExpiry", "other", `https://other.vault.azure.net/keys/k1/${version}`, "k1", version, exp))).toBeLessThan(300);
    // A configured source naming a key on a host that is no configured instance.
    expect(await deliver(vaultEvent("Microsoft.KeyVault.KeyExpired", "app", `https://evil.example.net/keys/k1/${version}`, "k1", version, exp))).toBeLessThan(300);
    // Malformed: no data.
    expect(await deliver({ id: "broken", topic: "x", subject: "k1", eventType: "Microsoft.KeyVault.KeyExpired", eventTime: new Date().toISOString(), dataVersion: "1" })).toBeLessThan(500);
    await runner.waitForIdle();
    expect([...runner.startedInstances].filter((id) => !before.has(id))).toEqual([]);
    expect(status(rotationInstanceId({ vaultUrl: "https://other.vault.azure.net", name: "k1", version }))).toBeUndefined();
  }, 120_000);

  it("a KeyNewVersionCreated made by someone else is recorded and verified, not rotated again", async () => {
    const key = await vault.createRsaKey("app-manual", { keySize: 2048, keyOps: ["sign", "verify"], expiresOn: new Date(Date.now() + 300 * DAY) });
    const v1 = key.properties.version ?? "";
    const manual = await vault.rotateKey("app-manual");
    const v2 = manual.properties.version ?? "";
    const id = recordInstanceId(rotationInstanceId({ vaultUrl: stack.urls.vault, name: "app-manual", version: v2 }));
    // The vault's own KeyNewVersionCreated (for v1 at create, v2 at rotate) reaches the app through Event Grid.
    await settle(() => terminal(id), `record ${id}`);
    expect(runner.host.get(id)?.name).toBe(orchestrationNames.recordKeyVersion);
    expect(output<RecordKeyVersionOutput>(id)).toMatchObject({ kind: "recorded", version: v2, verification: "verified", isCurrent: true });
    await runner.waitForIdle();
    const versions = await versionsOf(vault, "app-manual");
    expect(versions.map((v) => v.version).sort()).toEqual([v1, v2].sort());
  }, 120_000);
});
