import { describe, expect, it } from "vitest";
import { parseIncomingEvents, type IncomingEventPolicy } from "../../shared/events/incomingEvent";
import { KeyVaultEventType } from "../../shared/events/lifecycleEventTypes";

const VAULT_ID = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/contoso-kv";
const TOPIC_ID = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers/Microsoft.EventGrid/topics/hsm-lifecycle";
const VERSION = "ee059b2bb5bc48398a53b168c6cdcb10";

const policy: IncomingEventPolicy = {
  allowedSources: [VAULT_ID, TOPIC_ID],
  allowedTypes: [KeyVaultEventType.KeyNearExpiry, KeyVaultEventType.KeyExpired],
};

/** The shape Key Vault sends (PascalCase data, Unix-second NBF/EXP), including the doc sample's stray spaces. */
function vaultEvent(overrides: Record<string, unknown> = {}, data: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: "00eccf70-95a7-4e7c-8299-2eb17ee9ad64",
    topic: VAULT_ID,
    subject: "payments-cmk",
    eventType: "Microsoft.KeyVault.KeyNearExpiry",
    eventTime: "2026-11-23T08:00:00.0000000Z",
    data: {
      Id: `https://contoso-kv.vault.azure.net/keys/payments-cmk/${VERSION}`,
      VaultName: "contoso-kv",
      ObjectType: "Key",
      ObjectName: "payments-cmk ",
      Version: ` ${VERSION}`,
      NBF: 1763884800,
      EXP: 1766476800,
      ...data,
    },
    dataVersion: "1",
    metadataVersion: "1",
    ...overrides,
  };
}

function cloudEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const eg = vaultEvent();
  return {
    id: eg["id"],
    source: VAULT_ID,
    specversion: "1.0",
    type: "Microsoft.KeyVault.KeyExpired",
    subject: "payments-cmk",
    time: "2026-11-23T08:00:00Z",
    data: eg["data"],
    ...overrides,
  };
}

async function one(body: unknown, p: IncomingEventPolicy = policy): Promise<ReturnType<typeof parseIncomingEvents> extends Promise<(infer R)[]> ? R : never> {
  const results = await parseIncomingEvents(body, p);
  expect(results).toHaveLength(1);
  return results[0]!;
}

describe("parseIncomingEvents accepts real Key Vault events", () => {
  it("normalises an Event Grid schema KeyNearExpiry from a JSON string body", async () => {
    const result = await one(JSON.stringify([vaultEvent()]));
    expect(result.kind).toBe("accepted");
    if (result.kind !== "accepted") return;
    expect(result.event).toMatchObject({
      type: "Microsoft.KeyVault.KeyNearExpiry",
      schema: "EventGrid",
      source: VAULT_ID,
      subject: "payments-cmk",
      instance: "contoso-kv",
      keyName: "payments-cmk",
      version: VERSION,
      keyId: `https://contoso-kv.vault.azure.net/keys/payments-cmk/${VERSION}`,
      nbf: 1763884800,
      exp: 1766476800,
    });
    expect(result.event.time.toISOString()).toBe("2026-11-23T08:00:00.000Z");
  });

  it("normalises a CloudEvents KeyExpired with numeric-string EXP and null NBF", async () => {
    const result = await one(cloudEvent({ data: { ...(vaultEvent()["data"] as object), NBF: null, EXP: "1766476800" } }));
    expect(result.kind).toBe("accepted");
    if (result.kind !== "accepted") return;
    expect(result.event.schema).toBe("CloudEvent");
    expect(result.event.type).toBe("Microsoft.KeyVault.KeyExpired");
    expect(result.event.nbf).toBeNull();
    expect(result.event.exp).toBe(1766476800);
  });

  it("gives every redelivery of the same fact the same dedupe key, and different facts different keys", async () => {
    const [a, b, c] = await parseIncomingEvents([vaultEvent(), vaultEvent({ id: "another-delivery-id" }), vaultEvent({ eventType: "Microsoft.KeyVault.KeyExpired" })], policy);
    expect(a?.kind === "accepted" && b?.kind === "accepted" && c?.kind === "accepted").toBe(true);
    if (a?.kind !== "accepted" || b?.kind !== "accepted" || c?.kind !== "accepted") return;
    expect(a.event.dedupeKey).toBe(b.event.dedupeKey);
    expect(c.event.dedupeKey).not.toBe(a.event.dedupeKey);
  });

  it("accepts synthesised HSM events from our own topic", async () => {
    const result = await one(
      vaultEvent({ topic: TOPIC_ID }, { Id: `https://primary.managedhsm.azure.net/keys/payments-cmk/${VERSION}`, VaultName: "primary" }),
    );
    expect(result.kind).toBe("accepted");
  });
});

describe("parseIncomingEvents rejects, with a logged reason", () => {
  const cases: [string, unknown, RegExp, IncomingEventPolicy?][] = [
    ["a body that is not JSON", "{not json", /not JSON/],
    ["an Event Grid event without eventType", vaultEvent({ eventType: undefined }), /malformed Event Grid event: .*eventType/],
    ["a CloudEvent without source", cloudEvent({ source: undefined }), /malformed CloudEvent: .*source/],
    ["an event from a foreign vault", vaultEvent({ topic: VAULT_ID.replace("contoso-kv", "evil-kv") }), /foreign source/],
    ["an event without topic", vaultEvent({ topic: undefined }), /malformed Event Grid event: .*'topic'/],
    ["a type that is not configured", vaultEvent({ eventType: "Microsoft.KeyVault.KeyNewVersionCreated" }), /not accepted/],
    ["a subscription validation event", vaultEvent({ eventType: "Microsoft.EventGrid.SubscriptionValidationEvent" }), /handshake/],
    ["a forged subject", vaultEvent({ subject: "other-key" }), /subject "other-key" is not the key/],
    ["a forged Id naming another key", vaultEvent({}, { Id: `https://contoso-kv.vault.azure.net/keys/other/${VERSION}` }), /Id .* does not name key/],
    ["a VaultName that disagrees with the source vault", vaultEvent({}, { VaultName: "evil-kv" }), /VaultName "evil-kv" does not match/],
    ["a non-key object", vaultEvent({}, { ObjectType: "Secret" }), /ObjectType is "Secret"/],
    ["a bad version", vaultEvent({}, { Version: "latest" }), /Version is not/],
    ["data without VaultName", vaultEvent({}, { VaultName: undefined }), /all required/],
    ["a non-numeric EXP", vaultEvent({}, { EXP: "soon" }), /NBF\/EXP/],
    ["an http (not https) key id", vaultEvent({}, { Id: `http://contoso-kv.vault.azure.net/keys/payments-cmk/${VERSION}` }), /not an https URL/],
    [
      "a key id on a host that is not configured",
      vaultEvent({}, { Id: `https://attacker.example/keys/payments-cmk/${VERSION}` }),
      /foreign key host "attacker.example"/,
      { ...policy, allowedKeyHosts: ["contoso-kv.vault.azure.net"] },
    ],
    ["an oversized event", vaultEvent({}, { Padding: "x".repeat(2_000) }), /over the 1024-byte limit/, { ...policy, maxEventBytes: 1024 }],
  ];
  it.each(cases)("rejects %s", async (_name, body, reason, p) => {
    const lines: string[] = [];
    const results = await parseIncomingEvents(body, p ?? policy, (line) => lines.push(line));
    expect(results).toHaveLength(1);
    const result = results[0]!;
    expect(result.kind).toBe("rejected");
    if (result.kind !== "rejected") return;
    expect(result.reason).toMatch(reason);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("rejected, no action taken");
  });

  it("judges each event of a batch on its own", async () => {
    const results = await parseIncomingEvents([vaultEvent(), vaultEvent({ subject: "forged" })], policy);
    expect(results.map((r) => r.kind)).toEqual(["accepted", "rejected"]);
  });

  it("rejects an empty batch", async () => {
    const results = await parseIncomingEvents([], policy);
    expect(results).toEqual([{ kind: "rejected", reason: "the body holds no events" }]);
  });
});

describe("parseIncomingEvents ties the key Id to the event's source", () => {
  const instances = [
    { name: "kv", kind: "vault" as const, host: "contoso-kv.vault.azure.net" },
    { name: "hsm1", kind: "managedHsm" as const, host: "hsm1.managedhsm.azure.net" },
  ];
  const bound: IncomingEventPolicy = { ...policy, instances };
  const hsmId = `https://hsm1.managedhsm.azure.net/keys/payments-cmk/${VERSION}`;

  it("accepts a vault's event for its own key (by the host's first label) and the topic's notice for an HSM key", async () => {
    expect((await one(vaultEvent(), bound)).kind).toBe("accepted");
    expect((await one(vaultEvent({ topic: TOPIC_ID }, { Id: hsmId, VaultName: "hsm1" }), bound)).kind).toBe("accepted");
  });

  it("rejects a vault's event naming an HSM key, and a topic notice naming a vault key or another HSM name", async () => {
    expect(await one(vaultEvent({}, { Id: hsmId }), bound)).toMatchObject({ kind: "rejected", reason: expect.stringMatching(/source vault "contoso-kv" may only speak for its own keys, but Id names managedHsm "hsm1"/) });
    expect(await one(vaultEvent({ topic: TOPIC_ID }), bound)).toMatchObject({ kind: "rejected", reason: expect.stringMatching(/carries Managed HSM notices only/) });
    expect(await one(vaultEvent({ topic: TOPIC_ID }, { Id: hsmId, VaultName: "other" }), bound)).toMatchObject({ kind: "rejected", reason: expect.stringMatching(/VaultName "other" is not "hsm1"/) });
  });

  it("rejects a body nested deeper than the limit or with an oversized string, without throwing", async () => {
    let data: unknown = { Id: "x" };
    for (let i = 0; i < 50_000; i++) data = { a: data };
    expect(await one(vaultEvent({}, { deep: data }), bound)).toMatchObject({ kind: "rejected", reason: "the body is nested more than 16 levels deep" });
    expect(await one(vaultEvent({}, { pad: "x".repeat(2_000_000) }), bound)).toMatchObject({ kind: "rejected", reason: expect.stringMatching(/over the \d+-byte limit/) });
  });
});
