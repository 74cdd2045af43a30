import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { AzureKeyCredential, AzureSASCredential, EventGridPublisherClient, generateSharedAccessSignature } from "@azure/eventgrid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBlobDeadLetterSink } from "../../emulator/eventgrid/deadLetterSink";
import { DeliveryEngine } from "../../emulator/eventgrid/deliveryEngine";
import { ensureTopicKey } from "../../emulator/eventgrid/topicKey";
import { startTopicServer, type TopicServer } from "../../emulator/eventgrid/topicServer";
import { ensureTls } from "../../emulator/tls";
import { startAzurite, type AzuriteBlob } from "../support/azurite";
import { httpsRequest, startSubscriber, type Subscriber } from "./eventgridSupport";

let stateDir: string;
let ca: string;
let key: string;
let engine: DeliveryEngine;
let topic: TopicServer;
let azurite: AzuriteBlob;
const subscribers: Subscriber[] = [];

beforeAll(async () => {
  stateDir = mkdtempSync(path.join(tmpdir(), "eventgrid-topic-"));
  const tls = await ensureTls(stateDir);
  ca = tls.caPem;
  key = ensureTopicKey(stateDir, "lifecycle").key;
  azurite = await startAzurite();
  engine = new DeliveryEngine({
    policy: { maxAttempts: 3, initialDelayMs: 20, maxDelayMs: 100, requestTimeoutMs: 5_000, validationAttempts: 3 },
    deadLetter: createBlobDeadLetterSink(azurite.connectionString),
    defaultDeadLetterContainer: "eventgrid-deadletter",
  });
  topic = await startTopicServer({ name: "lifecycle", port: 0, tls: { key: tls.keyPem, cert: tls.certPem }, accessKey: key, engine });
});

afterAll(async () => {
  await engine?.close();
  await topic?.close();
  await Promise.all(subscribers.map((s) => s.close()));
  await azurite?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

async function subscribe(name: string, extra: { includedEventTypes?: string[]; deliverySchema?: "EventGrid" | "CloudEvent"; deadLetterContainer?: string } = {}): Promise<Subscriber> {
  const subscriber = await startSubscriber();
  subscribers.push(subscriber);
  engine.addSubscription({ name, source: "lifecycle", endpoint: subscriber.url, ...extra });
  expect(await engine.whenValidated(name)).toBe(true);
  return subscriber;
}

function client(schema: "EventGrid" | "CloudEvent", credential: AzureKeyCredential | AzureSASCredential = new AzureKeyCredential(key)) {
  return new EventGridPublisherClient(topic.endpoint, schema, credential, { tlsOptions: { ca }, retryOptions: { maxRetries: 0 } });
}

describe("emulated Event Grid topic", () => {
  it("takes Event Grid schema events from the real publisher client and pushes them after the handshake", async () => {
    const subscriber = await subscribe("eg-sub", { includedEventTypes: ["Contoso.Items.ItemReceived"] });
    await client("EventGrid").send([
      { eventType: "Contoso.Items.ItemReceived", subject: "items/1", dataVersion: "1.0", data: { itemSku: "A1" } },
      { eventType: "Contoso.Items.Ignored", subject: "items/2", dataVersion: "1.0", data: {} },
    ]);
    await subscriber.waitFor(() => subscriber.notifications().length === 1);
    await engine.idle();

    expect(subscriber.received[0]?.headers["aeg-event-type"]).toBe("SubscriptionValidation");
    const [delivery] = subscriber.notifications();
    expect(subscriber.notifications()).toHaveLength(1); // the type filter held the second event back
    expect(delivery?.headers["aeg-subscription-name"]).toBe("EG-SUB");
    expect(delivery?.headers["aeg-delivery-count"]).toBe("0");
    expect(delivery?.events[0]).toMatchObject({
      eventType: "Contoso.Items.ItemReceived",
      subject: "items/1",
      topic: topic.resourceId,
      data: { itemSku: "A1" },
      dataVersion: "1.0",
      metadataVersion: "1",
    });
  });

  it("takes CloudEvents 1.0 and delivers them to a CloudEvents webhook after the OPTIONS handshake", async () => {
    const subscriber = await subscribe("ce-sub", { deliverySchema: "CloudEvent", includedEventTypes: ["Contoso.Ce"] });
    await client("CloudEvent").send([{ type: "Contoso.Ce", source: "/contoso/app", subject: "s", data: { n: 1 } }]);
    await subscriber.waitFor(() => subscriber.notifications().length === 1);
    expect(subscriber.received[0]?.method).toBe("OPTIONS");
    const [delivery] = subscriber.notifications();
    expect(delivery?.headers["content-type"]).toMatch(/^application\/cloudevents\+json/);
    expect(delivery?.events[0]).toMatchObject({ specversion: "1.0", type: "Contoso.Ce", source: "/contoso/app", data: { n: 1 } });
  });

  it("accepts a SAS token signed with the topic key and refuses a forged or expired one", async () => {
    const good = await generateSharedAccessSignature(topic.endpoint, new AzureKeyCredential(key), new Date(Date.now() + 600_000));
    // Resolves only on a 2xx: the SDK throws RestError otherwise.
    await client("EventGrid", new AzureSASCredential(good)).send([{ eventType: "T", subject: "s", dataVersion: "1", data: {} }]);

    const forged = await generateSharedAccessSignature(topic.endpoint, new AzureKeyCredential(Buffer.alloc(32, 7).toString("base64")), new Date(Date.now() + 600_000));
    await expect(client("EventGrid", new AzureSASCredential(forged)).send([{ eventType: "T", subject: "s", dataVersion: "1", data: {} }])).rejects.toMatchObject({
      statusCode: 401,
    });
    const expired = await generateSharedAccessSignature(topic.endpoint, new AzureKeyCredential(key), new Date(Date.now() - 60_000));
    const response = await httpsRequest(`${topic.endpoint}?api-version=2018-01-01`, {
      method: "POST",
      ca,
      headers: { "aeg-sas-token": expired, "content-type": "application/json" },
      body: "[]",
    });
    expect(response.status).toBe(401);
    expect(JSON.parse(response.body)).toMatchObject({ error: { code: "Unauthorized", details: [{ code: "InvalidSas" }] } });
    expect(response.body).toContain("expired");
  });

  it("answers a wrong key with 401 Unauthorized and a missing credential likewise", async () => {
    const error = await client("EventGrid", new AzureKeyCredential(Buffer.alloc(32).toString("base64")))
      .send([{ eventType: "T", subject: "s", dataVersion: "1", data: {} }])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ statusCode: 401, code: "Unauthorized" });
    expect((error as Error).message).not.toContain(key);

    const anonymous = await httpsRequest(`${topic.endpoint}?api-version=2018-01-01`, { method: "POST", ca, headers: { "content-type": "application/json" }, body: "[]" });
    expect(anonymous.status).toBe(401);
    expect(JSON.parse(anonymous.body).error.message).toMatch(/no aeg-sas-key/);
  });

  it("answers malformed publishes with 400 and a real-shaped error naming the cause", async () => {
    const post = (body: string, contentType = "application/json") =>
      httpsRequest(`${topic.endpoint}?api-version=2018-01-01`, { method: "POST", ca, headers: { "aeg-sas-key": key, "content-type": contentType }, body });
    const missingSubject = await post(JSON.stringify([{ id: "1", eventType: "T", eventTime: new Date().toISOString(), data: {} }]));
    expect(missingSubject.status).toBe(400);
    expect(JSON.parse(missingSubject.body)).toEqual({
      error: {
        code: "BadRequest",
        message: "Required property 'subject' was not found in the event at index 0.",
        details: [{ code: "InputJsonInvalid", message: "Required property 'subject' was not found in the event at index 0." }],
      },
    });
    expect((await post("{not json")).status).toBe(400);
    expect(JSON.parse((await post(JSON.stringify({ id: "1" }))).body).error.message).toMatch(/JSON array/);
    const badTime = await post(JSON.stringify([{ id: "1", subject: "s", eventType: "T", eventTime: "yesterday" }]));
    expect(JSON.parse(badTime.body).error.message).toMatch(/eventTime/);
    const foreignTopic = await post(JSON.stringify([{ id: "1", subject: "s", eventType: "T", eventTime: new Date().toISOString(), topic: "/subscriptions/x/other" }]));
    expect(JSON.parse(foreignTopic.body).error.message).toMatch(/'topic'/);
    const badCe = await post(JSON.stringify([{ specversion: "0.3", id: "1", source: "/s", type: "T" }]), "application/cloudevents-batch+json");
    expect(JSON.parse(badCe.body).error.message).toMatch(/specversion/);
    expect((await post("[]", "text/plain")).status).toBe(400);
    const noApiVersion = await httpsRequest(topic.endpoint, { method: "POST", ca, headers: { "aeg-sas-key": key, "content-type": "application/json" }, body: "[]" });
    expect(JSON.parse(noApiVersion.body).error.details[0].code).toBe("InvalidApiVersion");
  });

  it("refuses events over 1 MB with 413 and accepts nothing from that request", async () => {
    const subscriber = await subscribe("size-sub", { includedEventTypes: ["Big"] });
    const error = await client("EventGrid")
      .send([{ eventType: "Big", subject: "s", dataVersion: "1", data: { blob: "x".repeat(1_100_000) } }])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ statusCode: 413 });
    await engine.idle();
    expect(subscriber.notifications()).toHaveLength(0);
  });

  it("retries a failing subscriber with backoff, then dead-letters the event into Blob Storage", async () => {
    const subscriber = await subscribe("down-sub", { includedEventTypes: ["Contoso.Down"] });
    subscriber.failWith(503);
    await client("EventGrid").send([{ id: "dead-1", eventType: "Contoso.Down", subject: "s", dataVersion: "1", data: { x: 1 } }]);
    await subscriber.waitFor(() => engine.deadLettered().some((d) => d.eventId === "dead-1"));

    const attempts = subscriber.notifications();
    expect(attempts.map((a) => a.headers["aeg-delivery-count"])).toEqual(["0", "1", "2"]);
    const entry = engine.deadLettered().find((d) => d.eventId === "dead-1");
    expect(entry).toMatchObject({ reason: "MaxDeliveryAttemptsExceeded", container: "eventgrid-deadletter" });
    expect(entry?.blobName).toMatch(/^LIFECYCLE\/DOWN-SUB\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/[0-9a-f-]{36}\.json$/);

    const container = azurite.blobServiceClient().getContainerClient("eventgrid-deadletter");
    const blob = await container.getBlobClient(entry!.blobName!).downloadToBuffer();
    const [record] = JSON.parse(blob.toString("utf8")) as Record<string, unknown>[];
    expect(record).toMatchObject({
      id: "dead-1",
      eventType: "Contoso.Down",
      data: { x: 1 },
      deadLetterReason: "MaxDeliveryAttemptsExceeded",
      deliveryAttempts: 3,
      lastDeliveryOutcome: "Busy",
      lastHttpStatusCode: 503,
    });
  });

  it("dead-letters at once on 400 (no retry), as Azure does", async () => {
    const subscriber = await subscribe("bad-sub", { includedEventTypes: ["Contoso.Bad"] });
    subscriber.failWith(400);
    await client("EventGrid").send([{ id: "bad-1", eventType: "Contoso.Bad", subject: "s", dataVersion: "1", data: {} }]);
    await subscriber.waitFor(() => engine.deadLettered().some((d) => d.eventId === "bad-1"));
    expect(subscriber.notifications()).toHaveLength(1);
    expect(engine.deadLettered().find((d) => d.eventId === "bad-1")?.reason).toBe("DeliveryFailed");
  });

  it("delivers injected duplicates (at-least-once) with the same event id", async () => {
    const subscriber = await subscribe("dup-sub", { includedEventTypes: ["Contoso.Dup"] });
    engine.setDuplicates("dup-sub", 2);
    await client("EventGrid").send([{ id: "dup-1", eventType: "Contoso.Dup", subject: "s", dataVersion: "1", data: {} }]);
    await subscriber.waitFor(() => subscriber.notifications().length === 3);
    await engine.idle();
    expect(subscriber.notifications().map((n) => n.events[0]?.["id"])).toEqual(["dup-1", "dup-1", "dup-1"]);
  });

  it("marks a subscription Failed when the webhook never answers the handshake, and delivers nothing to it", async () => {
    engine.addSubscription({ name: "nobody-sub", source: "lifecycle", endpoint: "http://127.0.0.1:9/api/updates" });
    expect(await engine.whenValidated("nobody-sub")).toBe(false);
    expect(engine.getSubscription("nobody-sub")).toMatchObject({ provisioningState: "Failed" });
    expect(engine.getSubscription("nobody-sub")?.validationError).toMatch(/validationResponse/);
    engine.removeSubscription("nobody-sub");
  });

  it("manages subscriptions through the loopback control endpoint", async () => {
    const subscriber = await startSubscriber();
    subscribers.push(subscriber);
    const control = `${topic.url}/_emulator/eventgrid/subscriptions/ctl-sub`;
    const created = await httpsRequest(control, { method: "PUT", ca, body: JSON.stringify({ source: "lifecycle", endpoint: subscriber.url, includedEventTypes: ["Ctl"] }) });
    expect(created.status).toBe(201);
    expect(await engine.whenValidated("ctl-sub")).toBe(true);
    expect(JSON.parse((await httpsRequest(control, { method: "GET", ca })).body)).toMatchObject({ name: "ctl-sub", provisioningState: "Succeeded" });
    const dup = await httpsRequest(`${control}/duplicates`, { method: "POST", ca, body: JSON.stringify({ count: 1 }) });
    expect(JSON.parse(dup.body)).toMatchObject({ duplicates: 1 });
    const bad = await httpsRequest(`${topic.url}/_emulator/eventgrid/subscriptions/x!`, { method: "PUT", ca, body: JSON.stringify({ source: "lifecycle", endpoint: "ftp://x" }) });
    expect(bad.status).toBe(400);
    expect(engine.getSubscription("x!")).toBeUndefined();
    expect((await httpsRequest(control, { method: "DELETE", ca })).status).toBe(200);
    expect((await httpsRequest(control, { method: "GET", ca })).status).toBe(404);
  });

  it("closes promptly while a delivery waits out its backoff", async () => {
    const own = new DeliveryEngine({ policy: { initialDelayMs: 600_000, maxDelayMs: 600_000, validationAttempts: 5 } });
    own.addSubscription({ name: "refused-sub", source: "lifecycle", endpoint: "http://127.0.0.1:9/x" }); // connection refused → backoff
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await own.close();
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("closes promptly even while a subscriber hangs without answering", async () => {
    const hanging = http.createServer(() => undefined); // never answers
    await new Promise<void>((resolve) => hanging.listen(0, "127.0.0.1", resolve));
    const own = new DeliveryEngine({ policy: { requestTimeoutMs: 120_000, validationAttempts: 1 } });
    try {
      own.addSubscription({ name: "hang-sub", source: "lifecycle", endpoint: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/x` });
      await new Promise((r) => setTimeout(r, 100)); // the handshake request is now in flight
      const started = Date.now();
      await own.close();
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(own.getSubscription("hang-sub")?.provisioningState).not.toBe("Succeeded");
    } finally {
      hanging.closeAllConnections();
      await new Promise<void>((resolve) => hanging.close(() => resolve()));
    }
  });
});
