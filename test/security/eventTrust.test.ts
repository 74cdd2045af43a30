/**
 * Hostile Event Grid deliveries against the local stack (emulator HSM `primary`, vault `app`, topic `lifecycle`,
 * Azurite, the real app on the runner): deeply nested bodies, a vault's event naming the HSM, and a seeded fuzz
 * of well-formed forged events for versions that do not exist. Each must start nothing, fail no invocation (so
 * Event Grid does not redeliver it forever) and leave its reason in the log and the audit container.
 * Build first (`npx tsc -p tsconfig.json`): the stack runs dist/emulator and the runner loads dist/functions.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KeyClient } from "@azure/keyvault-keys";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack, type LocalStack } from "../../dev/localStack";
import type { Runner } from "../../runner/index";
import { parseIncomingEvents } from "../../shared/events/incomingEvent";
import { triggerNames } from "../../shared/names";

const DAY = 86_400_000;
let stack: LocalStack;
let runner: Runner;
let dir: string;
const logs: string[] = [];
let vaultSource: string;
let topicSource: string;
let hsmHost: string;
let vaultHost: string;
const real: { hsm: { name: string; version: string }; vault: { name: string; version: string } } = { hsm: { name: "", version: "" }, vault: { name: "", version: "" } };

/** Posts a batch to the runner's Event Grid webhook, as Event Grid delivers it. */
async function deliver(body: string): Promise<number> {
  const res = await fetch(`${runner.url}/runtime/webhooks/EventGrid?functionName=${triggerNames.keyEventGrid}`, {
    method: "POST",
    headers: { "content-type": "application/json", "aeg-event-type": "Notification" },
    body,
  });
  await res.text();
  return res.status;
}

interface Forged {
  id: string;
  schema: "EventGrid" | "CloudEvent";
  type: string;
  source: string;
  host: string;
  vaultName: string;
  name: string;
  version: string;
}

function toWire(f: Forged): Record<string, unknown> {
  const data = { Id: `https://${f.host}/keys/${f.name}/${f.version}`, VaultName: f.vaultName, ObjectType: "Key", ObjectName: f.name, Version: f.version, NBF: null, EXP: Math.floor((Date.now() + 5 * DAY) / 1000) };
  return f.schema === "EventGrid"
    ? { id: f.id, topic: f.source, subject: f.name, eventType: f.type, eventTime: new Date().toISOString(), dataVersion: "1", metadataVersion: "1", data }
    : { id: f.id, source: f.source, specversion: "1.0", type: f.type, subject: f.name, time: new Date().toISOString(), data };
}

/** mulberry32: a small seeded PRNG, so the fuzz is the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function newInstances(before: ReadonlySet<string>): string[] {
  return [...runner.startedInstances].filter((id) => !before.has(id));
}

function failedInstances(): string[] {
  return runner.summary().instances.filter((i) => i.status === "Failed" || i.status === "Terminated").map((i) => i.instanceId);
}

async function rejectedAuditRecords(): Promise<string[]> {
  const audit = BlobServiceClient.fromConnectionString(stack.storageConnectionString).getContainerClient(stack.settings["AUDIT_CONTAINER"] ?? "");
  const out: string[] = [];
  for await (const b of audit.listBlobsFlat({ prefix: "rotation/events/rejected/" })) out.push((await audit.getBlobClient(b.name).downloadToBuffer()).toString("utf8"));
  return out;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sec-events-"));
  stack = await startLocalStack({
    stateDir: dir,
    azuriteInMemory: true,
    runner: {
      clock: "real",
      port: 0,
      scheduleTimers: false,
      startupTimers: false,
      log: { lifecycle: () => undefined, system: () => undefined, functionLog: (_f, _i, _level, message) => logs.push(message) },
    },
  });
  if (stack.runner === undefined) throw new Error("the stack started no runner");
  runner = stack.runner;
  const sources = (stack.settings["EVENT_SOURCES"] ?? "").split(",");
  vaultSource = sources.find((s) => /\/vaults\//i.test(s)) ?? "";
  topicSource = sources.find((s) => /\/topics\//i.test(s)) ?? "";
  hsmHost = new URL(stack.urls.primary).host;
  vaultHost = new URL(stack.urls.vault).host;
  const hsm = new KeyClient(stack.urls.primary, stack.adminCredential, stack.clientOptions());
  const vault = new KeyClient(stack.urls.vault, stack.adminCredential, stack.clientOptions());
  const h = await hsm.createEcKey("sec-hsm-key", { curve: "P-256", expiresOn: new Date(Date.now() + 300 * DAY) });
  const v = await vault.createEcKey("sec-vault-key", { curve: "P-256", expiresOn: new Date(Date.now() + 300 * DAY) });
  real.hsm = { name: "sec-hsm-key", version: h.properties.version ?? "" };
  real.vault = { name: "sec-vault-key", version: v.properties.version ?? "" };
  // The vault's own KeyNewVersionCreated for the new key reaches the app through Event Grid: let it settle first.
  const end = Date.now() + 60_000;
  while (![...runner.startedInstances].some((id) => id.includes(real.vault.version))) {
    if (Date.now() > end) throw new Error("the vault's KeyNewVersionCreated never arrived");
    await new Promise((r) => setTimeout(r, 100));
  }
  await runner.waitForIdle();
}, 180_000);

afterAll(async () => {
  await stack?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe("event trust on the local stack", () => {
  it("a body nested thousands deep is dropped with a logged, audited reason; the delivery succeeds (no redelivery)", async () => {
    const before = new Set(runner.startedInstances);
    let data = `{"Id":"https://${vaultHost}/keys/k/0123456789abcdef0123456789abcdef"}`;
    for (let i = 0; i < 3000; i++) data = `{"a":${data}}`;
    const body = `[{"id":"deep-1","topic":"${vaultSource}","subject":"k","eventType":"Microsoft.KeyVault.KeyExpired","eventTime":"${new Date().toISOString()}","dataVersion":"1","metadataVersion":"1","data":${data}}]`;
    expect(await deliver(body)).toBe(202);
    await runner.waitForIdle();
    expect(newInstances(before)).toEqual([]);
    const line = logs.find((l) => l.includes("event deep-1 rejected") && l.includes("nested more than 16 levels deep"));
    expect(line).toBeDefined();
    console.log(`logged: ${line}`);
    expect((await rejectedAuditRecords()).some((r) => r.includes("nested more than 16 levels deep"))).toBe(true);
  }, 60_000);

  it("parsing a body nested 200,000 deep is bounded: rejected, not thrown", async () => {
    const body = "[".repeat(200_000) + "]".repeat(200_000);
    const results = await parseIncomingEvents(body, { allowedSources: [vaultSource], allowedTypes: ["Microsoft.KeyVault.KeyExpired"] });
    expect(results).toEqual([{ kind: "rejected", reason: "the body is nested more than 16 levels deep" }]);
    const big = await parseIncomingEvents("x".repeat(2_000_000), { allowedSources: [vaultSource], allowedTypes: ["Microsoft.KeyVault.KeyExpired"] });
    expect(big[0]).toMatchObject({ kind: "rejected", reason: expect.stringMatching(/over the \d+-byte limit/) });
  });

  it("an event from vault `app` whose Id names the primary HSM starts nothing: the Id must be the source's own", async () => {
    const before = new Set(runner.startedInstances);
    const forged = toWire({ id: "vault-names-hsm", schema: "EventGrid", type: "Microsoft.KeyVault.KeyExpired", source: vaultSource, host: hsmHost, vaultName: "app", name: real.hsm.name, version: real.hsm.version });
    expect(await deliver(JSON.stringify([forged]))).toBe(202);
    await runner.waitForIdle();
    expect(newInstances(before)).toEqual([]);
    const line = logs.find((l) => l.includes("vault-names-hsm") && l.includes("rejected"));
    expect(line).toMatch(/source vault "app" may only speak for its own keys, but Id names managedHsm "primary"/);
    console.log(`logged: ${line}`);
  }, 60_000);

  it("fuzz: 160 well-formed forged events (seeded) for versions that do not exist start no orchestration and fail nothing", async () => {
    const before = new Set(runner.startedInstances);
    const failedBefore = new Set(failedInstances());
    const rand = prng(0x5eed15);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const hex = (): string => Array.from({ length: 32 }, () => "0123456789abcdef"[Math.floor(rand() * 16)]).join("");
    const forged: Forged[] = [];
    for (let i = 0; i < 160; i++) {
      const onHsm = rand() < 0.5;
      forged.push({
        id: `fuzz-${i}`,
        schema: rand() < 0.7 ? "EventGrid" : "CloudEvent",
        type: pick(["Microsoft.KeyVault.KeyNearExpiry", "Microsoft.KeyVault.KeyExpired", "Microsoft.KeyVault.KeyNewVersionCreated"]),
        // Mostly the consistent pairing (topic → HSM, vault → vault), so most reach the version check.
        source: rand() < 0.8 ? (onHsm ? topicSource : vaultSource) : pick([topicSource, vaultSource]),
        host: onHsm ? hsmHost : vaultHost,
        vaultName: onHsm ? "primary" : "app",
        name: rand() < 0.7 ? (onHsm ? real.hsm.name : real.vault.name) : `fuzz-key-${Math.floor(rand() * 5)}`,
        version: hex(),
      });
    }
    for (let i = 0; i < forged.length; i += 16) expect(await deliver(JSON.stringify(forged.slice(i, i + 16).map(toWire)))).toBe(202);
    await runner.waitForIdle();
    expect(newInstances(before)).toEqual([]);
    expect(failedInstances().filter((id) => !failedBefore.has(id))).toEqual([]);
    const versionChecked = forged.filter((f) => logs.some((l) => l.includes(`event ${f.id} rejected`) && l.includes("has no version")));
    for (const f of forged) expect(logs.some((l) => l.includes(`event ${f.id} rejected, no action taken:`)), `reason logged for ${f.id}`).toBe(true);
    // Most forged events are consistent enough that only the version check stops them: it is what is under test.
    expect(versionChecked.length).toBeGreaterThan(80);
    console.log(`fuzz: ${forged.length} forged events, ${versionChecked.length} stopped by the version check, the rest by source/Id binding; 0 started, 0 failed`);
  }, 180_000);

  it("control: a genuine event for a version that exists still starts its orchestration", async () => {
    const before = new Set(runner.startedInstances);
    const genuine = toWire({ id: "genuine-1", schema: "EventGrid", type: "Microsoft.KeyVault.KeyNearExpiry", source: topicSource, host: hsmHost, vaultName: "primary", name: real.hsm.name, version: real.hsm.version });
    expect(await deliver(JSON.stringify([genuine]))).toBe(202);
    await runner.waitForIdle();
    expect(newInstances(before)).toHaveLength(1);
    expect(logs.some((l) => l.includes("event genuine-1") && l.includes("started rotateKey"))).toBe(true);
  }, 60_000);
});
