import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { AzureKeyCredential } from "@azure/eventgrid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeliveryEngine } from "../../emulator/eventgrid/deliveryEngine";
import { ensureTopicKey } from "../../emulator/eventgrid/topicKey";
import { startTopicServer, type TopicServer } from "../../emulator/eventgrid/topicServer";
import { ensureTls } from "../../emulator/tls";
import { parseIncomingEvents } from "../../shared/events/incomingEvent";
import { createLifecyclePublisher } from "../../shared/events/lifecyclePublisher";
import { LifecycleEventType } from "../../shared/events/lifecycleEventTypes";
import { validateLifecycleEventData } from "../../shared/events/validateLifecycleEventData";
import { lifecycleSamples } from "../support/lifecycleEventSamples";
import { startSubscriber, type Subscriber } from "./eventgridSupport";

let stateDir: string;
let ca: string;
let key: string;
let engine: DeliveryEngine;
let topic: TopicServer;
let egSubscriber: Subscriber;
let ceSubscriber: Subscriber;

beforeAll(async () => {
  stateDir = mkdtempSync(path.join(tmpdir(), "eventgrid-publisher-"));
  const tls = await ensureTls(stateDir);
  ca = tls.caPem;
  key = ensureTopicKey(stateDir, "hsm-lifecycle").key;
  engine = new DeliveryEngine({ policy: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 50, validationAttempts: 2 } });
  topic = await startTopicServer({ name: "hsm-lifecycle", port: 0, tls: { key: tls.keyPem, cert: tls.certPem }, accessKey: key, engine });
  egSubscriber = await startSubscriber();
  ceSubscriber = await startSubscriber();
  engine.addSubscription({ name: "ops-eg", source: "hsm-lifecycle", endpoint: egSubscriber.url, includedEventTypes: Object.values(LifecycleEventType) });
  engine.addSubscription({ name: "ops-ce", source: "hsm-lifecycle", endpoint: ceSubscriber.url, deliverySchema: "CloudEvent", includedEventTypes: ["HsmLifecycle.DrillCompleted"] });
  expect(await engine.whenValidated("ops-eg")).toBe(true);
  expect(await engine.whenValidated("ops-ce")).toBe(true);
});

afterAll(async () => {
  await engine?.close();
  await topic?.close();
  await egSubscriber?.close();
  await ceSubscriber?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

describe("lifecycle publisher against the emulated topic", () => {
  it("publishes every lifecycle event type (Event Grid schema); each delivered event validates against its schema", async () => {
    const lines: string[] = [];
    const publisher = createLifecyclePublisher({
      endpoint: topic.endpoint,
      credential: new AzureKeyCredential(key),
      clientOptions: { tlsOptions: { ca } },
      log: (line) => lines.push(line),
    });
    const types = Object.values(LifecycleEventType);
    for (const type of types) {
      const outcome = await publisher.publish({ type, data: lifecycleSamples[type], id: `evt-${type}` });
      expect(outcome).toEqual({ kind: "published", id: `evt-${type}`, type, attempts: 1 });
    }
    await egSubscriber.waitFor(() => egSubscriber.notifications().length === types.length);
    const delivered = egSubscriber.notifications().map((n) => n.events[0]!);
    expect(delivered.map((e) => e["eventType"]).sort()).toEqual([...types].sort());
    for (const event of delivered) {
      expect(validateLifecycleEventData(String(event["eventType"]), event["data"])).toEqual([]);
      expect(event["topic"]).toBe(topic.resourceId);
    }
    const nearExpiry = delivered.find((e) => e["eventType"] === LifecycleEventType.KeyNearExpiry)!;
    expect(nearExpiry["subject"]).toBe("payments-cmk");
    const rotated = delivered.find((e) => e["eventType"] === LifecycleEventType.KeyRotated)!;
    expect(rotated["subject"]).toBe("/managedHsms/primary/keys/payments-cmk");
    expect(lines).toEqual([]);

    // The synthesised HSM near-expiry event is accepted by our own inbound validation, as a vault's would be.
    const [accepted] = await parseIncomingEvents([nearExpiry], {
      allowedSources: [topic.resourceId],
      allowedTypes: [LifecycleEventType.KeyNearExpiry],
    });
    expect(accepted).toMatchObject({ kind: "accepted", event: { instance: "primary", keyName: "payments-cmk", exp: 1766476800 } });
  });

  it("publishes CloudEvents when the topic takes them", async () => {
    const publisher = createLifecyclePublisher({
      endpoint: topic.endpoint,
      credential: new AzureKeyCredential(key),
      schema: "CloudEvent",
      source: "/hsm-lifecycle/func-app",
      clientOptions: { tlsOptions: { ca } },
    });
    const data = lifecycleSamples[LifecycleEventType.DrillCompleted];
    expect(await publisher.publish({ type: LifecycleEventType.DrillCompleted, data })).toMatchObject({ kind: "published", attempts: 1 });
    const fromPublisher = () => ceSubscriber.notifications().flatMap((n) => n.events).filter((e) => e["source"] === "/hsm-lifecycle/func-app");
    await ceSubscriber.waitFor(() => fromPublisher().length === 1);
    const [event] = fromPublisher();
    expect(event).toMatchObject({ specversion: "1.0", type: "HsmLifecycle.DrillCompleted", source: "/hsm-lifecycle/func-app", subject: "/managedHsms/dr-hsm/drills/drill:2026-11-23" });
    expect(validateLifecycleEventData("HsmLifecycle.DrillCompleted", event!["data"])).toEqual([]);
  });

  it("refuses to send data that breaks its schema, and sends nothing", async () => {
    await engine.idle();
    const before = egSubscriber.notifications().length;
    const publisher = createLifecyclePublisher({ endpoint: topic.endpoint, credential: new AzureKeyCredential(key), clientOptions: { tlsOptions: { ca } } });
    const data = { ...lifecycleSamples[LifecycleEventType.BackupCompleted], durationMs: -1 };
    const outcome = await publisher.publish({ type: LifecycleEventType.BackupCompleted, data });
    expect(outcome.kind).toBe("invalid");
    if (outcome.kind === "invalid") expect(outcome.errors.join()).toMatch(/durationMs/);
    await engine.idle();
    expect(egSubscriber.notifications()).toHaveLength(before);
  });

  it("never throws on a publish failure: it retries, logs without the key, and returns the outcome", async () => {
    const lines: string[] = [];
    const delays: number[] = [];
    const wrongKey = Buffer.alloc(32, 1).toString("base64");
    const publisher = createLifecyclePublisher({
      endpoint: topic.endpoint,
      credential: new AzureKeyCredential(wrongKey),
      clientOptions: { tlsOptions: { ca } },
      retry: { attempts: 3, delayMs: 5 },
      sleep: async (ms) => {
        delays.push(ms);
      },
      log: (line) => lines.push(line),
    });
    const outcome = await publisher.publish({ type: LifecycleEventType.BackupFailed, data: lifecycleSamples[LifecycleEventType.BackupFailed], id: "bf-1" });
    expect(outcome).toMatchObject({ kind: "failed", id: "bf-1", attempts: 3 });
    if (outcome.kind === "failed") expect(outcome.error).toMatch(/HTTP 401/);
    expect(delays).toEqual([5, 10]);
    expect(lines).toHaveLength(3);
    expect(lines.join("\n")).not.toContain(wrongKey);
    expect(lines.join("\n")).not.toContain(key);
  });

  it("reports an unreachable topic as failed instead of throwing", async () => {
    const publisher = createLifecyclePublisher({
      endpoint: "https://127.0.0.1:9/api/events",
      credential: new AzureKeyCredential(key),
      clientOptions: { tlsOptions: { ca } },
      retry: { attempts: 2, delayMs: 0 },
    });
    const outcome = await publisher.publish({ type: LifecycleEventType.DrillFailed, data: lifecycleSamples[LifecycleEventType.DrillFailed] });
    expect(outcome).toMatchObject({ kind: "failed", attempts: 2 });
  });
});
