// /_emulator/ control endpoints (clock shift with automatic rotations, fault injection, audit log, reset)
// and the instance seams other modules use (events, restore mode, snapshot/replace).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { RestError } from "@azure/core-rest-pipeline";
import type { KeyVersionCreatedEvent } from "../../emulator/instance";
import { ADMIN_OID, collect, startTestEmulator, type TestEmulator } from "../support/emulator";

let emu: TestEmulator;
beforeAll(async () => {
  emu = await startTestEmulator({ hsms: ["hsm1", "hsm2"], vaults: ["vault1"], tickIntervalMs: 60_000 });
});
afterAll(async () => {
  await emu?.close();
});

describe("clock shift", () => {
  it("runs the automatic rotations that fall due, back-dated to when they were due, and emits events", async () => {
    const client = emu.keyClient("hsm1");
    const key = await client.createRsaKey("auto");
    await client.updateKeyRotationPolicy("auto", { expiresIn: "P120D", lifetimeActions: [{ action: "Rotate", timeAfterCreate: "P30D" }] });
    const events: KeyVersionCreatedEvent[] = [];
    const instance = emu.emulator.instances["hsm1"]!.instance;
    const listener = (e: KeyVersionCreatedEvent): void => void events.push(e);
    instance.events.on("keyVersionCreated", listener);
    const shifted = await emu.control("hsm1", "POST", "/_emulator/clock", { shiftDays: 65 });
    instance.events.off("keyVersionCreated", listener);
    expect(shifted.status).toBe(200);
    expect(shifted.body.rotations).toBe(2);
    const versions = await collect(client.listPropertiesOfKeyVersions("auto"));
    expect(versions.length).toBe(3);
    const created = versions.map((v) => v.createdOn!.getTime()).sort((a, b) => a - b);
    expect(created[1]! - created[0]!).toBe(30 * 86_400_000);
    expect(created[2]! - created[1]!).toBe(30 * 86_400_000);
    expect(events.map((e) => e.name)).toEqual(["auto", "auto"]);
    expect(events[0]!.exp!.getTime() - events[0]!.at.getTime()).toBe(120 * 86_400_000);
    const latest = await client.getKey("auto");
    expect(latest.properties.version).not.toBe(key.properties.version);
    // The clock moved only on hsm1.
    expect((await emu.control("hsm1", "GET", "/_emulator/clock")).body.offsetMs).toBe(65 * 86_400_000);
    expect((await emu.control("hsm2", "GET", "/_emulator/clock")).body.offsetMs).toBe(0);
  });

  it("makes keys expire for server-side checks and purges deleted keys past their purge date", async () => {
    const client = emu.keyClient("vault1");
    await client.createRsaKey("short", { expiresOn: new Date(Date.now() + 86_400_000) });
    const digest = createHash("sha256").update("x").digest().toString("base64url");
    expect((await emu.request("vault1", "POST", "/keys/short//sign?api-version=7.6", { body: { alg: "RS256", value: digest } })).status).toBe(200);
    await client.createRsaKey("doomed");
    await (await client.beginDeleteKey("doomed", { intervalInMs: 10 })).pollUntilDone();
    await emu.control("vault1", "POST", "/_emulator/clock", { shiftDays: 91 });
    expect((await emu.request("vault1", "POST", "/keys/short//sign?api-version=7.6", { body: { alg: "RS256", value: digest } })).status).toBe(403);
    const gone = await client.getDeletedKey("doomed").then(
      () => undefined,
      (e: unknown) => e as RestError,
    );
    expect(gone?.statusCode).toBe(404);
  });

  it("rotates on timeBeforeExpiry counted from the key's exp, once per due time", async () => {
    const client = emu.keyClient("vault1");
    const now = Date.parse((await emu.control("vault1", "GET", "/_emulator/clock")).body.now);
    await client.createRsaKey("expiring", { expiresOn: new Date(now + 60 * 86_400_000) });
    await client.updateKeyRotationPolicy("expiring", { expiresIn: "P90D", lifetimeActions: [{ action: "Rotate", timeBeforeExpiry: "P30D" }] });
    const r = await emu.control("vault1", "POST", "/_emulator/clock", { shiftDays: 31 });
    expect(r.body.rotations).toBe(1);
    const versions = (await collect(client.listPropertiesOfKeyVersions("expiring"))).sort((a, b) => a.createdOn!.getTime() - b.createdOn!.getTime());
    expect(versions.length).toBe(2);
    // Rotated exactly 30 days before the old exp; the new version expires 90 days after its creation.
    expect(versions[1]!.createdOn!.getTime()).toBe(Math.floor(now / 1000) * 1000 + 30 * 86_400_000);
    expect(versions[1]!.expiresOn!.getTime() - versions[1]!.createdOn!.getTime()).toBe(90 * 86_400_000);
    const hsmLimit = await emu.keyClient("hsm2").createRsaKey("limit-check").then(() =>
      emu.keyClient("hsm2").updateKeyRotationPolicy("limit-check", { expiresIn: "P60D", lifetimeActions: [{ action: "Rotate", timeBeforeExpiry: "P40D" }] }).catch((e: RestError) => e),
    );
    expect((hsmLimit as RestError).statusCode).toBe(400);
    expect((hsmLimit as RestError).message).toContain("28 days");
  });

  it("refuses to move time backwards", async () => {
    expect((await emu.control("hsm2", "POST", "/_emulator/clock", { shiftSeconds: -5 })).status).toBe(400);
  });
});

describe("fault injection", () => {
  it("answers 429 with Retry-After (the SDK retries it) and 5xx, then switches off after `remaining`", async () => {
    await emu.keyClient("hsm2").createEcKey("faulty");
    expect((await emu.control("hsm2", "PUT", "/_emulator/faults", { throttleFraction: 1, retryAfterSeconds: 0, remaining: 1 })).status).toBe(200);
    const raw = await emu.request("hsm2", "GET", "/keys/faulty/?api-version=2025-07-01");
    expect(raw.status).toBe(429);
    expect(raw.headers["retry-after"]).toBe("0");
    expect(raw.body.error.code).toBe("Throttled");
    expect((await emu.request("hsm2", "GET", "/keys/faulty/?api-version=2025-07-01")).status).toBe(200);

    // With retries on, a throttled request succeeds on the retry.
    await emu.control("hsm2", "PUT", "/_emulator/faults", { throttleFraction: 1, retryAfterSeconds: 0, remaining: 1 });
    const retrying = emu.keyClient("hsm2", ADMIN_OID, { retryOptions: { maxRetries: 2, retryDelayInMs: 10 } });
    expect((await retrying.getKey("faulty")).name).toBe("faulty");

    await emu.control("hsm2", "PUT", "/_emulator/faults", { errorFraction: 1, errorStatus: 503, remaining: 1 });
    const e = await emu.keyClient("hsm2").getKey("faulty").then(
      () => undefined,
      (err: unknown) => err as RestError,
    );
    expect(e?.statusCode).toBe(503);
    // Delays keep answers correct; `remaining` counts them down.
    await emu.control("hsm2", "PUT", "/_emulator/faults", { delayFraction: 1, delayMs: 20, remaining: 2 });
    expect((await emu.keyClient("hsm2").getKey("faulty")).name).toBe("faulty");
    expect((await emu.control("hsm2", "GET", "/_emulator/faults")).body.remaining).toBe(1);
    expect((await emu.control("hsm2", "DELETE", "/_emulator/faults")).status).toBe(204);
    expect((await emu.control("hsm2", "PUT", "/_emulator/faults", { throttleFraction: 2 })).status).toBe(400);
  });
});

describe("audit log", () => {
  it("records AuditEvent-shaped entries with operation, caller, status and correlation id (no secrets)", async () => {
    const client = emu.keyClient("hsm2");
    const key = await client.createRsaKey("audited");
    await emu.cryptoClient(key.id!).sign("RS256", createHash("sha256").update("a").digest());
    await client.getKey("missing-one").catch(() => undefined);
    const audit = await emu.control("hsm2", "GET", "/_emulator/audit");
    const records = audit.body.value as Array<Record<string, any>>;
    const create = records.find((r) => r.operationName === "KeyCreate" && r.properties.id?.includes("/keys/audited/"));
    expect(create).toMatchObject({ category: "AuditEvent", resultType: "Success", resultSignature: "OK", callerIpAddress: "127.0.0.1", identity: { claim: { oid: ADMIN_OID } }, properties: { httpStatusCode: 200 } });
    expect(create!.properties.requestUri).toContain("/keys/audited/create");
    expect(create!.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(records.some((r) => r.operationName === "KeySign" && r.properties.httpStatusCode === 200)).toBe(true);
    expect(records.some((r) => r.operationName === "KeyGet" && r.properties.httpStatusCode === 404 && r.resultSignature === "NotFound")).toBe(true);
    expect(records.some((r) => r.operationName === "Authentication" && r.properties.httpStatusCode === 401)).toBe(true);
    const filtered = await emu.control("hsm2", "GET", "/_emulator/audit?operationName=KeySign");
    expect(filtered.body.value.every((r: { operationName: string }) => r.operationName === "KeySign")).toBe(true);
    expect(audit.text).not.toMatch(/Bearer|"d":|eyJ/);
  });
});

describe("instance seams", () => {
  it("restore mode refuses data-plane calls with a clear error; snapshot/replace swaps the whole state", async () => {
    const hsm = emu.emulator.instances["hsm2"]!.instance;
    const client = emu.keyClient("hsm2");
    await client.createEcKey("before-snapshot");
    const snapshot = hsm.snapshot();
    await client.createEcKey("after-snapshot");
    hsm.restoreMode = true;
    const refused = await client.getKey("before-snapshot").then(
      () => undefined,
      (e: unknown) => e as RestError,
    );
    expect(refused?.statusCode).toBe(409);
    expect(refused?.message).toContain("restore");
    await hsm.replaceFromSnapshot(snapshot);
    hsm.restoreMode = false;
    expect((await client.getKey("before-snapshot")).name).toBe("before-snapshot");
    expect((await client.getKey("after-snapshot").catch((e: RestError) => e)) instanceof RestError).toBe(true);
    expect(hsm.acquireJobLock("job-1", "backup")).toBe(true);
    expect(hsm.acquireJobLock("job-2", "restore")).toBe(false);
    hsm.releaseJobLock("job-1");
    expect(hsm.acquireJobLock("job-2", "restore")).toBe(true);
    hsm.releaseJobLock("job-2");
  });

  it("HSMs sharing a security domain restore each other's single-key backups; others cannot", async () => {
    const shared = await startTestEmulator({ hsms: ["p", { name: "dr", securityDomain: "p" }, "other"] });
    try {
      const p = shared.keyClient("p");
      await p.createRsaKey("moving");
      const blob = (await p.backupKey("moving"))!;
      expect((await shared.keyClient("dr").restoreKeyBackup(blob)).name).toBe("moving");
      const e = await shared.keyClient("other").restoreKeyBackup(blob).then(
        () => undefined,
        (err: unknown) => err as RestError,
      );
      expect(e?.statusCode).toBe(400);
      expect(e?.message).toContain("Backup blob contains invalid or corrupt version.");
      const info = await shared.control("dr", "GET", "/_emulator/info");
      expect(info.body.securityDomainId).toBe((await shared.control("p", "GET", "/_emulator/info")).body.securityDomainId);
    } finally {
      await shared.close();
    }
  });

  it("reset empties the instance and re-seeds --admin", async () => {
    const client = emu.keyClient("hsm2");
    await client.createEcKey("to-be-reset");
    expect((await emu.control("hsm2", "POST", "/_emulator/reset")).status).toBe(204);
    expect(await collect(client.listPropertiesOfKeys())).toEqual([]);
    expect((await emu.control("hsm2", "GET", "/_emulator/audit")).body.value.length).toBeLessThanOrEqual(1);
    expect((await client.createEcKey("after-reset")).name).toBe("after-reset");
  });
});
