import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { backoffMs, resolveDeliveryPolicy } from "../../emulator/eventgrid/deliveryPolicy";
import { toCloudEvent } from "../../emulator/eventgrid/deliveryEngine";
import { EventGridError } from "../../emulator/eventgrid/eventGridError";
import { parseServiceTime, verifySasToken } from "../../emulator/eventgrid/sasToken";
import { parseSubscribeFlag } from "../../emulator/eventgrid/subscriptionSpec";
import { validatePublish } from "../../emulator/eventgrid/validatePublish";
import { AzureKeyCredential } from "@azure/eventgrid";
import { lifecyclePublisherCredential } from "../../shared/events/lifecyclePublisher";

const TOPIC = "/subscriptions/0/resourceGroups/rg/providers/Microsoft.EventGrid/topics/t1";

describe("--subscribe parsing", () => {
  it("reads source, URL (query kept), types and the extra options", () => {
    expect(parseSubscribeFlag("kv1=http://127.0.0.1:7071/runtime/webhooks/EventGrid?functionName=onKeyEvent,types=Microsoft.KeyVault.KeyNearExpiry;Microsoft.KeyVault.KeyExpired,schema=cloudevents,duplicates=2,deadletter=dl-box,name=kv1-remediate", "x-1")).toEqual({
      name: "kv1-remediate",
      source: "kv1",
      endpoint: "http://127.0.0.1:7071/runtime/webhooks/EventGrid?functionName=onKeyEvent",
      includedEventTypes: ["Microsoft.KeyVault.KeyNearExpiry", "Microsoft.KeyVault.KeyExpired"],
      deliverySchema: "CloudEvent",
      deadLetterContainer: "dl-box",
      duplicates: 2,
    });
    expect(parseSubscribeFlag("t1=https://h/x?a=1,b=2", "t1-sub-1")).toEqual({ name: "t1-sub-1", source: "t1", endpoint: "https://h/x?a=1,b=2" });
  });

  it.each([
    ["no URL", "kv1", /SOURCE=URL/],
    ["not http", "kv1=ftp://x", /not an http/],
    ["bad schema", "kv1=http://h/x,schema=xml", /schema must be/],
    ["bad duplicates", "kv1=http://h/x,duplicates=99", /duplicates/],
    ["bad container", "kv1=http://h/x,deadletter=Bad_Name", /container/],
  ])("refuses %s with a message naming the fix", (_name, flag, message) => {
    expect(() => parseSubscribeFlag(flag, "kv1-sub-1")).toThrow(message);
  });
});

describe("SAS tokens", () => {
  const key = Buffer.alloc(32, 9).toString("base64");
  const sign = (resource: string, expiry: string): string => {
    const unsigned = `r=${encodeURIComponent(resource)}&e=${encodeURIComponent(expiry)}`;
    return `${unsigned}&s=${encodeURIComponent(createHmac("sha256", Buffer.from(key, "base64")).update(unsigned).digest("base64"))}`;
  };
  const now = Date.UTC(2026, 10, 23, 9, 0, 0);

  it("parses the .NET en-US time format the SDK writes", () => {
    expect(parseServiceTime("11/23/2026 12:05:00 AM")).toBe(Date.UTC(2026, 10, 23, 0, 5, 0));
    expect(parseServiceTime("11/23/2026 12:05:00 PM")).toBe(Date.UTC(2026, 10, 23, 12, 5, 0));
    expect(parseServiceTime("2026-11-23T00:00:00Z")).toBeUndefined();
  });

  it("accepts a valid token and names what is wrong with a bad one", () => {
    const endpoint = "https://127.0.0.1:1234/api/events?apiVersion=2018-01-01";
    expect(verifySasToken(sign(endpoint, "11/23/2026 10:00:00 AM"), key, "/api/events", now)).toBeUndefined();
    expect(verifySasToken(sign(endpoint, "11/23/2026 8:00:00 AM"), key, "/api/events", now)).toMatch(/expired/);
    expect(verifySasToken(sign("https://127.0.0.1:1234/other", "11/23/2026 10:00:00 AM"), key, "/api/events", now)).toMatch(/issued for \/other/);
    expect(verifySasToken(sign(endpoint, "11/23/2026 10:00:00 AM").replace(/s=[^&]+$/, "s=AAAA"), key, "/api/events", now)).toMatch(/signature/);
    expect(verifySasToken("garbage", key, "/api/events", now)).toMatch(/malformed/);
  });
});

describe("publish validation", () => {
  const now = Date.now();
  const body = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

  it("stamps topic and metadataVersion on Event Grid events and keeps CloudEvents as sent", () => {
    const [eg] = validatePublish(body([{ id: "1", subject: "s", eventType: "T", eventTime: "2026-11-23T09:00:00Z", data: {} }]), "application/json", TOPIC, now);
    expect(eg?.wire).toMatchObject({ topic: TOPIC, metadataVersion: "1", dataVersion: "" });
    const [ce] = validatePublish(body({ specversion: "1.0", id: "2", source: "/s", type: "T", data_base64: "AAE=" }), "application/cloudevents+json; charset=utf-8", TOPIC, now);
    expect(ce?.wire).toEqual({ specversion: "1.0", id: "2", source: "/s", type: "T", data_base64: "AAE=" });
  });

  it.each([
    ["a CloudEvent with data and data_base64", { specversion: "1.0", id: "1", source: "/s", type: "T", data: {}, data_base64: "AA==" }, "application/cloudevents+json", /both 'data' and 'data_base64'/],
    ["an upper-case CloudEvents attribute", { specversion: "1.0", id: "1", source: "/s", type: "T", MyExt: 1 }, "application/cloudevents+json", /MyExt/],
    ["an Event Grid event with an empty id", [{ id: "", subject: "s", eventType: "T", eventTime: "2026-11-23T09:00:00Z" }], "application/json", /'id'.*non-empty/],
    ["metadataVersion 2", [{ id: "1", subject: "s", eventType: "T", eventTime: "2026-11-23T09:00:00Z", metadataVersion: "2" }], "application/json", /metadataVersion/],
    ["an empty batch", [], "application/json", /no events/],
  ])("refuses %s with 400", (_name, payload, contentType, message) => {
    let caught: unknown;
    try {
      validatePublish(body(payload), contentType, TOPIC, now);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(EventGridError);
    expect((caught as EventGridError).status).toBe(400);
    expect((caught as EventGridError).message).toMatch(message);
  });
});

describe("delivery policy and schema mapping", () => {
  it("doubles the backoff up to the cap and refuses nonsense", () => {
    const policy = resolveDeliveryPolicy({ initialDelayMs: 100, maxDelayMs: 350 });
    expect([1, 2, 3, 4].map((n) => backoffMs(policy, n))).toEqual([100, 200, 350, 350]);
    expect(() => resolveDeliveryPolicy({ maxAttempts: 0 })).toThrow(/maxAttempts/);
    expect(() => resolveDeliveryPolicy({ maxAttempts: 31 })).toThrow(/maxAttempts/);
  });

  it("maps an Event Grid event to CloudEvents as Azure does for system topics", () => {
    expect(toCloudEvent({ id: "1", topic: TOPIC, subject: "k", eventType: "Microsoft.KeyVault.KeyExpired", eventTime: "t", data: { A: 1 }, dataVersion: "1", metadataVersion: "1" })).toEqual({
      id: "1",
      source: TOPIC,
      specversion: "1.0",
      type: "Microsoft.KeyVault.KeyExpired",
      subject: "k",
      time: "t",
      data: { A: 1 },
    });
  });
});

describe("publisher credential choice", () => {
  const managedIdentity = { getToken: async () => null };
  it("uses the topic key when configured, the managed identity otherwise", () => {
    expect(lifecyclePublisherCredential("a2V5", managedIdentity)).toBeInstanceOf(AzureKeyCredential);
    expect(lifecyclePublisherCredential("  ", managedIdentity)).toBe(managedIdentity);
    expect(lifecyclePublisherCredential(undefined, managedIdentity)).toBe(managedIdentity);
  });
});
