import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { AzureKeyCredential, EventGridPublisherClient } from "@azure/eventgrid";
import { KeyClient } from "@azure/keyvault-keys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventGridEngineOf, eventGridPlugin } from "../../emulator/eventgrid/eventGridPlugin";
import type { DeliveryEngine } from "../../emulator/eventgrid/deliveryEngine";
import { vaultResourceId } from "../../emulator/eventgrid/resourceIds";
import { startEmulator, type RunningEmulator } from "../../emulator/server";
import { parseIncomingEvents } from "../../shared/events/incomingEvent";
import { createLifecyclePublisher } from "../../shared/events/lifecyclePublisher";
import { KeyVaultEventType, LifecycleEventType } from "../../shared/events/lifecycleEventTypes";
import { lifecycleSamples } from "../support/lifecycleEventSamples";
import { httpsRequest, startSubscriber, type Subscriber } from "./eventgridSupport";

const DAY = 86_400;
let stateDir: string;
let emu: RunningEmulator;
let engine: DeliveryEngine;
let vaultSubscriber: Subscriber;
let hsmSubscriber: Subscriber;
let vaultKeys: KeyClient;
let hsmKeys: KeyClient;

type Delivered = Record<string, unknown> & { eventType: string; subject: string; data: Record<string, unknown> };
const delivered = (s: Subscriber): Delivered[] => s.notifications().flatMap((n) => n.events as Delivered[]);
const ofType = (s: Subscriber, type: string, subject: string): Delivered[] => delivered(s).filter((e) => e.eventType === type && e.subject === subject);

async function shiftDays(instance: string, days: number): Promise<void> {
  const response = await httpsRequest(`${emu.instances[instance]!.url}/_emulator/clock`, { method: "POST", ca: emu.caPem, body: JSON.stringify({ shiftDays: days }) });
  expect(response.status).toBe(200);
}

beforeAll(async () => {
  stateDir = mkdtempSync(path.join(tmpdir(), "eventgrid-vault-"));
  emu = await startEmulator({
    stateDir,
    instances: [
      { kind: "vault", name: "kv1", port: 0 },
      { kind: "managedHsm", name: "hsm1", port: 0 },
    ],
    topics: [{ name: "lifecycle", port: 0 }],
    admins: ["dev"],
    plugins: [eventGridPlugin({ policy: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 50, validationAttempts: 2 }, sweepIntervalMs: 50 })],
    log: () => undefined,
  });
  engine = eventGridEngineOf(emu)!;
  vaultSubscriber = await startSubscriber();
  hsmSubscriber = await startSubscriber();
  engine.addSubscription({ name: "kv1-all", source: "kv1", endpoint: vaultSubscriber.url });
  // Nothing ever publishes for an HSM source: this subscription proves it.
  engine.addSubscription({ name: "hsm1-all", source: "hsm1", endpoint: hsmSubscriber.url });
  expect(await engine.whenValidated("kv1-all")).toBe(true);
  expect(await engine.whenValidated("hsm1-all")).toBe(true);
  const clientOptions = { tlsOptions: { ca: emu.caPem }, disableChallengeResourceVerification: true };
  vaultKeys = new KeyClient(emu.instances["kv1"]!.url, emu.credential("dev"), clientOptions);
  hsmKeys = new KeyClient(emu.instances["hsm1"]!.url, emu.credential("dev"), clientOptions);
});

afterAll(async () => {
  await emu?.close();
  await vaultSubscriber?.close();
  await hsmSubscriber?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

describe("vault instances publish Key Vault key events; HSM instances none", () => {
  it("reports the topic in the ready line with its key file (the key itself is not printed)", () => {
    const ready = emu.readyLine();
    const topic = ready.instances["lifecycle"] as unknown as Record<string, string>;
    expect(topic).toMatchObject({ kind: "eventGridTopic", endpoint: `${topic["url"]}/api/events` });
    const key = readFileSync(topic["keyFile"]!, "utf8").trim();
    expect(Buffer.from(key, "base64")).toHaveLength(32);
    expect(JSON.stringify(ready)).not.toContain(key);
  });

  it("raises KeyNewVersionCreated and, for an exp inside 30 days, KeyNearExpiry, shaped as Key Vault's", async () => {
    const nowSeconds = Math.floor(Date.now() / 1000);
    const near = await vaultKeys.createRsaKey("near-key", { expiresOn: new Date((nowSeconds + 10 * DAY) * 1000) });
    const far = await vaultKeys.createRsaKey("far-key", { expiresOn: new Date((nowSeconds + 90 * DAY) * 1000) });
    await vaultSubscriber.waitFor(() => ofType(vaultSubscriber, KeyVaultEventType.KeyNearExpiry, "near-key").length === 1);
    await vaultSubscriber.waitFor(() => ofType(vaultSubscriber, KeyVaultEventType.KeyNewVersionCreated, "far-key").length === 1);

    const created = ofType(vaultSubscriber, KeyVaultEventType.KeyNewVersionCreated, "near-key");
    expect(created).toHaveLength(1);
    const [nearExpiry] = ofType(vaultSubscriber, KeyVaultEventType.KeyNearExpiry, "near-key");
    expect(nearExpiry).toMatchObject({
      topic: vaultResourceId("kv1"),
      subject: "near-key",
      dataVersion: "1",
      metadataVersion: "1",
      data: {
        Id: near.id,
        VaultName: "kv1",
        ObjectType: "Key",
        ObjectName: "near-key",
        Version: near.properties.version,
        NBF: null,
        EXP: Math.floor(near.properties.expiresOn!.getTime() / 1000),
      },
    });
    expect(ofType(vaultSubscriber, KeyVaultEventType.KeyNearExpiry, "far-key")).toHaveLength(0);
    expect(far.properties.version).toMatch(/^[0-9a-f]{32}$/);

    // What the vault sends passes our own inbound validation.
    const results = await parseIncomingEvents([nearExpiry], { allowedSources: [vaultResourceId("kv1")], allowedTypes: [KeyVaultEventType.KeyNearExpiry] });
    expect(results[0]).toMatchObject({ kind: "accepted", event: { instance: "kv1", keyName: "near-key", version: near.properties.version } });
  });

  it("raises KeyExpired after a clock shift past exp, and KeyNearExpiry for the other key once it is within 30 days", async () => {
    await shiftDays("kv1", 11);
    await vaultSubscriber.waitFor(() => ofType(vaultSubscriber, KeyVaultEventType.KeyExpired, "near-key").length === 1);
    expect(ofType(vaultSubscriber, KeyVaultEventType.KeyNearExpiry, "far-key")).toHaveLength(0);
    await shiftDays("kv1", 60);
    await vaultSubscriber.waitFor(() => ofType(vaultSubscriber, KeyVaultEventType.KeyNearExpiry, "far-key").length === 1);
    const [expired] = ofType(vaultSubscriber, KeyVaultEventType.KeyExpired, "near-key");
    // eventTime follows the emulator clock (shifted), not the wall clock.
    expect(Date.parse(String(expired!["eventTime"]))).toBeGreaterThan(Date.now() + 10 * DAY * 1000);
    // Each fact is raised once, however often the sweep runs.
    await new Promise((r) => setTimeout(r, 200));
    expect(ofType(vaultSubscriber, KeyVaultEventType.KeyExpired, "near-key")).toHaveLength(1);
    expect(ofType(vaultSubscriber, KeyVaultEventType.KeyNearExpiry, "near-key")).toHaveLength(1);
  });

  it("raises KeyNewVersionCreated for a rotation, with the new version", async () => {
    const rotated = await vaultKeys.rotateKey("far-key");
    await vaultSubscriber.waitFor(() => ofType(vaultSubscriber, KeyVaultEventType.KeyNewVersionCreated, "far-key").length === 2);
    const versions = ofType(vaultSubscriber, KeyVaultEventType.KeyNewVersionCreated, "far-key").map((e) => e.data["Version"]);
    expect(versions).toContain(rotated.properties.version);
    expect(ofType(vaultSubscriber, KeyVaultEventType.KeyNewVersionCreated, "far-key").find((e) => e.data["Version"] === rotated.properties.version)?.data["Id"]).toBe(rotated.id);
  });

  it("raises nothing for Managed HSM keys, whatever happens to them", async () => {
    const nowSeconds = Math.floor(Date.now() / 1000);
    await hsmKeys.createRsaKey("hsm-near", { expiresOn: new Date((nowSeconds + 5 * DAY) * 1000) });
    await hsmKeys.createRsaKey("hsm-near", { expiresOn: new Date((nowSeconds + 3 * DAY) * 1000) });
    await hsmKeys.updateKeyRotationPolicy("hsm-near", { expiresIn: "P60D" });
    await hsmKeys.rotateKey("hsm-near");
    await shiftDays("hsm1", 40);
    await new Promise((r) => setTimeout(r, 300));
    await engine.idle();
    expect(hsmSubscriber.notifications()).toHaveLength(0);
    expect(delivered(vaultSubscriber).some((e) => String(e.subject).startsWith("hsm-"))).toBe(false);
  });

  it("accepts publishes on the CLI-configured topic through the same plugin", async () => {
    const topic = emu.readyLine().instances["lifecycle"] as unknown as Record<string, string>;
    const key = readFileSync(topic["keyFile"]!, "utf8").trim();
    const client = new EventGridPublisherClient(topic["endpoint"]!, "EventGrid", new AzureKeyCredential(key), { tlsOptions: { ca: emu.caPem } });
    await client.send([{ eventType: "HsmLifecycle.BackupCompleted", subject: "/managedHsms/hsm1/backups/x", dataVersion: "1", data: {} }]);
    const control = await httpsRequest(`${topic["url"]}/_emulator/eventgrid/subscriptions`, { method: "GET", ca: emu.caPem });
    expect((JSON.parse(control.body) as { value: { name: string }[] }).value.map((s) => s.name).sort()).toEqual(["hsm1-all", "kv1-all"]);
  });
});

describe("managed identity publishing", () => {
  it("accepts a bearer token for https://eventgrid.azure.net from the emulator's TokenCredential and refuses other audiences", async () => {
    const topic = emu.readyLine().instances["lifecycle"] as unknown as Record<string, string>;
    const publisher = createLifecyclePublisher({ endpoint: topic["endpoint"]!, credential: emu.credential("automation-mi"), clientOptions: { tlsOptions: { ca: emu.caPem } }, retry: { attempts: 1 } });
    const outcome = await publisher.publish({ type: LifecycleEventType.BackupFailed, data: lifecycleSamples[LifecycleEventType.BackupFailed] });
    expect(outcome).toMatchObject({ kind: "published", attempts: 1 });

    const wrongAudience = await httpsRequest(`${topic["endpoint"]!}?api-version=2018-01-01`, {
      method: "POST",
      ca: emu.caPem,
      headers: { authorization: `Bearer ${await emu.token("automation-mi", { audience: "vault" })}`, "content-type": "application/json" },
      body: "[]",
    });
    expect(wrongAudience.status).toBe(401);
    expect(JSON.parse(wrongAudience.body).error.message).toMatch(/audience/i);
  });
});

describe("subscriptions from options", () => {
  it("refuses a subscription to a Managed HSM, naming why, and leaves nothing listening", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "eventgrid-bad-"));
    try {
      await expect(
        startEmulator({ stateDir: dir, instances: [{ kind: "managedHsm", name: "hsm2", port: 0 }], subscriptions: [{ source: "hsm2", url: "http://127.0.0.1:1/x" }], log: () => undefined }),
      ).rejects.toThrow(/Managed HSM sends no Event Grid events/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("vault events across a restart", () => {
  it("does not raise an expiry event again after the emulator restarts on the same state dir", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "eventgrid-restart-"));
    const subscriber = await startSubscriber();
    const start = async (): Promise<RunningEmulator> => {
      const running = await startEmulator({
        stateDir: dir,
        instances: [{ kind: "vault", name: "kv2", port: 0 }],
        admins: ["dev"],
        // Given as options (like --subscribe) so the subscription exists before the first expiry sweep at start.
        subscriptions: [{ source: "kv2", url: subscriber.url, types: [KeyVaultEventType.KeyNearExpiry] }],
        plugins: [eventGridPlugin({ policy: { maxAttempts: 1, validationAttempts: 2, initialDelayMs: 10 }, sweepIntervalMs: 50 })],
        log: () => undefined,
      });
      return running;
    };
    try {
      let running = await start();
      const keys = new KeyClient(running.instances["kv2"]!.url, running.credential("dev"), { tlsOptions: { ca: running.caPem }, disableChallengeResourceVerification: true });
      await keys.createEcKey("soon", { expiresOn: new Date(Date.now() + 3 * DAY * 1000) });
      await subscriber.waitFor(() => subscriber.notifications().length === 1);
      await running.close();

      running = await start();
      expect(await eventGridEngineOf(running)!.whenValidated("kv2-sub-1")).toBe(true);
      await new Promise((r) => setTimeout(r, 300)); // several sweeps
      await eventGridEngineOf(running)!.idle();
      expect(subscriber.notifications()).toHaveLength(1);
      await running.close();
    } finally {
      await subscriber.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
