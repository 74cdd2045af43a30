// Rotation activity layer against the emulator with the real @azure/keyvault-keys clients:
// inventory from list pages, on-demand rotation with the policy's expiry, idempotence by rotation id,
// staged retirement after the grace period (clock shift), foreign versions, HSM notices, role errors.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { eventGridEngineOf } from "../../emulator/eventgrid/eventGridPlugin";
import { createRotationDeps } from "../../shared/rotation/activities/depsFromSettings";
import { startSubscriber } from "./eventgridSupport";
import { disableKeyVersion } from "../../shared/rotation/activities/disableKeyVersion";
import type { RotationDeps, RotationInstance } from "../../shared/rotation/activities/deps";
import { ensureRotationPolicy } from "../../shared/rotation/activities/ensurePolicy";
import { listDueKeys } from "../../shared/rotation/activities/listDueKeys";
import { listKeyVersions } from "../../shared/rotation/activities/listKeyVersions";
import { publishNotices } from "../../shared/rotation/activities/publishNotices";
import { recordForeignVersion } from "../../shared/rotation/activities/recordForeignVersion";
import { retireKeyVersions } from "../../shared/rotation/activities/retireKeyVersions";
import { rotateKeyVersion } from "../../shared/rotation/activities/rotateKeyVersion";
import { setVersionExpiry } from "../../shared/rotation/activities/setVersionExpiry";
import { verifyKeyVersion } from "../../shared/rotation/activities/verifyKeyVersion";
import { LifecycleError } from "../../shared/errors/lifecycleError";
import { parseActivityFailure } from "../../shared/errors/parseActivityFailure";
import { validateLifecycleEventData } from "../../shared/events/validateLifecycleEventData";
import { createKeyClients } from "../../shared/hsm/keyClients";
import { parseRotationPolicy } from "../../shared/rotation/checkRotationPolicy";
import { rotationInstanceId } from "../../shared/rotation/rotationIds";
import type { RotationPolicy } from "../../shared/rotation/policyTypes";
import { HSM_ROLE_IDS, VAULT_ROLE_IDS } from "../../emulator/rbac/builtInRoles";
import { HSM_ROTATION_ROLE, VAULT_ROTATION_ROLE, type LifecycleRole } from "../../shared/rbac/lifecycleRoles";
import { permissionsOf } from "../../shared/rbac/rbacDiff";
import { configuredInstancesOf, startTestEmulator, type TestEmulator } from "../support/emulator";

const API = "api-version=7.5";
const DAY = 86_400_000;
let emu: TestEmulator;
let deps: RotationDeps;
let primary: RotationInstance;
let shifted: RotationInstance;
let app: RotationInstance;
let policy: RotationPolicy;

const instanceOf = (name: string, kind: "managedHsm" | "vault"): RotationInstance => ({ name, kind });

async function emulatorNow(instance: string): Promise<Date> {
  const r = await emu.control(instance, "GET", "/_emulator/clock");
  expect(r.status).toBe(200);
  return new Date(r.body.now as string);
}

async function shiftDays(instance: string, days: number): Promise<void> {
  const r = await emu.control(instance, "POST", "/_emulator/clock", { shiftDays: days });
  expect(r.status, r.text).toBe(200);
}

async function assign(instance: string, roleId: string, principalId: string): Promise<void> {
  const r = await emu.request(instance, "PUT", `///providers/Microsoft.Authorization/roleAssignments/${randomUUID()}?${API}`, {
    body: { properties: { roleDefinitionId: `Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/${roleId}`, principalId } },
  });
  expect(r.status, r.text).toBe(201);
}

/** Defines one of the lifecycle's custom roles on an instance (as `rbac apply` does) and assigns it at "/". */
async function assignLifecycleRole(instance: string, role: LifecycleRole, principalId: string): Promise<void> {
  const r = await emu.request(instance, "PUT", `///providers/Microsoft.Authorization/roleDefinitions/${role.name}?${API}`, {
    body: { properties: { roleName: role.roleName, type: "CustomRole", assignableScopes: ["/"], permissions: permissionsOf(role) } },
  });
  expect(r.status, r.text).toBeLessThan(300);
  await assign(instance, role.name, principalId);
}

function depsFor(oid?: string): RotationDeps {
  return { clients: createKeyClients(emu.credential(oid), { ca: emu.ca, emulatorMode: true, retryOptions: { maxRetries: 0 } }), instances: configuredInstancesOf(emu) };
}

async function versionsOf(instance: string, name: string): Promise<{ version: string; enabled: boolean | undefined }[]> {
  const out: { version: string; enabled: boolean | undefined }[] = [];
  for await (const p of emu.keyClient(instance).listPropertiesOfKeyVersions(name)) out.push({ version: p.version ?? "", enabled: p.enabled });
  return out;
}

beforeAll(async () => {
  emu = await startTestEmulator({ hsms: ["primary", "shifted"], vaults: ["app"], topics: [{ name: "lifecycle", port: 0 }] });
  deps = depsFor();
  primary = instanceOf("primary", "managedHsm");
  shifted = instanceOf("shifted", "managedHsm");
  app = instanceOf("app", "vault");
  policy = parseRotationPolicy(
    {
      version: 1,
      defaults: { gracePeriod: "P7D", notifyBefore: ["P30D", "P7D"] },
      exclusions: [{ keyName: "legacy-*", reason: "pinned by consumers" }],
      rules: [
        { name: "hsm-pay", instances: ["primary", "shifted"], keyName: "pay-*", rotateBeforeExpiry: "P30D", newVersionExpiry: "P180D" },
        { name: "vault-app", instances: ["app"], rotateBeforeExpiry: "P14D", newVersionExpiry: "P90D" },
      ],
    },
    [
      { name: "primary", kind: "managedHsm" },
      { name: "shifted", kind: "managedHsm" },
      { name: "app", kind: "vault" },
    ],
  );
}, 60_000);

afterAll(async () => {
  await emu?.close();
});

describe("inventory and rotation", () => {
  it("plans a due key from list pages, rotates it once with the policy's expiry, and skips a not-due key", async () => {
    const keys = emu.keyClient("primary");
    const now = await emulatorNow("primary");
    const due = await keys.createRsaKey("pay-due", { hsm: true, expiresOn: new Date(now.getTime() + 10 * DAY) });
    await keys.createRsaKey("pay-later", { hsm: true, expiresOn: new Date(now.getTime() + 200 * DAY) });
    await keys.createRsaKey("legacy-1", { hsm: true, expiresOn: new Date(now.getTime() + 1 * DAY) });
    const oldVersion = due.properties.version ?? "";

    const inventory = await listDueKeys({ instance: primary, policy, now: now.toISOString(), includeSkipped: true }, deps);
    expect(inventory.due.map((d) => d.name)).toEqual(["pay-due"]);
    const entry = inventory.due[0]!;
    expect(entry.version).toBe(oldVersion);
    expect(entry.instanceId).toBe(rotationInstanceId({ vaultUrl: emu.url("primary"), name: "pay-due", version: oldVersion }));
    expect(entry.decision).toMatchObject({ kind: "rotate", reason: "nearExpiry", rule: "hsm-pay", notice: "P30D" });
    expect(entry.versionCount).toBe(1);
    expect(inventory.skippedKeys?.map((s) => [s.key, s.decision.kind === "skip" ? s.decision.reason : s.decision.kind]).sort()).toEqual([
      ["legacy-1", "excluded"],
      ["pay-later", "notDue"],
    ]);
    // List pages only: one key page plus one versions page each for the due key and the excluded key in a
    // notice stage (its notice names the current version).
    expect(inventory.requests).toEqual({ keyPages: 1, versionPages: 2, gets: 0 });
    expect(inventory.notices.map((n) => [n.name, n.stage, n.version]).sort()).toEqual([["legacy-1", "P30D", expect.any(String)], ["pay-due", "P30D", oldVersion]]);

    const first = await rotateKeyVersion({ instance: primary, name: "pay-due", fromVersion: oldVersion, newVersionExpiry: "P180D" }, deps);
    expect(first.kind).toBe("rotated");
    expect(first.version).not.toBe(oldVersion);
    expect(first.previousVersion).toBe(oldVersion);
    const created = Date.parse(first.createdOn ?? "");
    expect(Date.parse(first.expiresOn ?? "") - created).toBe(180 * DAY);

    // The new version is current and carries the expiry on the service, not just in our result.
    const current = await keys.getKey("pay-due");
    expect(current.properties.version).toBe(first.version);
    expect(current.properties.expiresOn?.getTime()).toBe(created + 180 * DAY);
    // Managed HSM needed a rotation policy first; it was set to the configured expiry, without service auto-rotation.
    const servicePolicy = await keys.getKeyRotationPolicy("pay-due");
    expect(servicePolicy.expiresIn).toBe("P180D");
    expect((servicePolicy.lifetimeActions ?? []).some((a) => a.action === "Rotate")).toBe(false);

    // Same rotation id again (a durable retry, a redelivered event): no second version.
    const again = await rotateKeyVersion({ instance: primary, name: "pay-due", fromVersion: oldVersion, newVersionExpiry: "P180D" }, deps);
    expect(again).toMatchObject({ kind: "alreadyRotated", version: first.version, previousVersion: oldVersion });
    expect((await versionsOf("primary", "pay-due")).length).toBe(2);

    // The next sweep sees the key not due any more.
    const after = await listDueKeys({ instance: primary, policy, now: now.toISOString() }, deps);
    expect(after.due).toEqual([]);
    expect(after.skipped).toEqual({ excluded: 1, notDue: 2 });
  });

  it("finds a key due only after the emulator clock moves past rotate-before-expiry", async () => {
    const keys = emu.keyClient("shifted");
    const now = await emulatorNow("shifted");
    const k = await keys.createEcKey("pay-shift", { hsm: true, curve: "P-256", expiresOn: new Date(now.getTime() + 60 * DAY) });
    const before = await listDueKeys({ instance: shifted, policy, now: now.toISOString() }, deps);
    expect(before.due).toEqual([]);
    expect(before.skipped.notDue).toBe(1);
    await shiftDays("shifted", 35);
    const later = await emulatorNow("shifted");
    const after = await listDueKeys({ instance: shifted, policy, now: later.toISOString() }, deps);
    expect(after.due.map((d) => [d.name, d.version, d.decision.reason])).toEqual([["pay-shift", k.properties.version, "nearExpiry"]]);
    const r = await rotateKeyVersion({ instance: shifted, name: "pay-shift", fromVersion: k.properties.version ?? "", newVersionExpiry: "P180D" }, deps);
    expect(r.kind).toBe("rotated");
    // Created in the emulator's (shifted) time, so the new expiry is 180 days after that.
    expect(Date.parse(r.createdOn ?? "")).toBeGreaterThanOrEqual(later.getTime() - 1000);
  });

  it("rotates a vault key (no policy needed first) and skips a key without expiry", async () => {
    const keys = emu.keyClient("app");
    const now = await emulatorNow("app");
    const k = await keys.createRsaKey("web-signing", { expiresOn: new Date(now.getTime() + 5 * DAY) });
    await keys.createRsaKey("no-expiry");
    const inventory = await listDueKeys({ instance: app, policy, now: now.toISOString(), includeSkipped: true }, deps);
    expect(inventory.due.map((d) => d.name)).toEqual(["web-signing"]);
    expect(inventory.skippedKeys).toEqual([{ instance: "app", key: "no-expiry", decision: { kind: "skip", reason: "notDue", rule: "vault-app" } }]);
    // Vaults send their own near-expiry events: no synthesised notices.
    expect(inventory.notices).toEqual([]);
    const r = await rotateKeyVersion({ instance: app, name: "web-signing", fromVersion: k.properties.version ?? "", newVersionExpiry: "P90D" }, deps);
    expect(r.kind).toBe("rotated");
    expect(Date.parse(r.expiresOn ?? "") - Date.parse(r.createdOn ?? "")).toBe(90 * DAY);
    const verified = await verifyKeyVersion({ instance: app, name: "web-signing", version: r.version, previousVersion: r.previousVersion }, deps);
    expect(verified).toMatchObject({ kind: "verified", previous: { kind: "verified" } });
  });

  it("ensureRotationPolicy writes once and then only reads", async () => {
    await emu.keyClient("primary").createRsaKey("pay-policy", { hsm: true });
    const first = await ensureRotationPolicy({ instance: primary, name: "pay-policy", newVersionExpiry: "P90D" }, deps);
    expect(first).toMatchObject({ kind: "updated", expiresIn: "P90D" });
    const second = await ensureRotationPolicy({ instance: primary, name: "pay-policy", newVersionExpiry: "P90D" }, deps);
    expect(second.kind).toBe("unchanged");
    const changed = await ensureRotationPolicy({ instance: primary, name: "pay-policy", newVersionExpiry: "P120D" }, deps);
    expect(changed).toMatchObject({ kind: "updated", expiresIn: "P120D" });
  });

  it("ensureRotationPolicy removes a service Rotate action (we rotate on demand) and keeps a vault's Notify", async () => {
    const keys = emu.keyClient("app");
    await keys.createRsaKey("auto-rotating");
    await keys.updateKeyRotationPolicy("auto-rotating", {
      expiresIn: "P90D",
      lifetimeActions: [
        { action: "Rotate", timeAfterCreate: "P30D" },
        { action: "Notify", timeBeforeExpiry: "P10D" },
      ],
    });
    const r = await ensureRotationPolicy({ instance: app, name: "auto-rotating", newVersionExpiry: "P90D" }, deps);
    expect(r.kind).toBe("updated");
    const after = await keys.getKeyRotationPolicy("auto-rotating");
    expect(after.lifetimeActions).toEqual([{ action: "Notify", timeBeforeExpiry: "P10D" }]);
    expect(after.expiresIn).toBe("P90D");
  });

  it("a rotation someone else made without an expiry is adopted as alreadyRotated and gets the policy's expiry", async () => {
    const keys = emu.keyClient("primary");
    const v1 = await keys.createRsaKey("pay-manual", { hsm: true });
    await keys.updateKeyRotationPolicy("pay-manual", { lifetimeActions: [] });
    const theirs = await keys.rotateKey("pay-manual");
    expect(theirs.properties.expiresOn).toBeUndefined();
    const r = await rotateKeyVersion({ instance: primary, name: "pay-manual", fromVersion: v1.properties.version ?? "", newVersionExpiry: "P180D" }, deps);
    expect(r).toMatchObject({ kind: "alreadyRotated", version: theirs.properties.version, expirySet: true });
    expect(Date.parse(r.expiresOn ?? "") - Date.parse(r.createdOn ?? "")).toBe(180 * DAY);
    expect((await versionsOf("primary", "pay-manual")).length).toBe(2);
  });

  it("an unreadable HSM_TLS_CA_FILE is a settings error that names the setting", () => {
    let failure: unknown;
    try {
      createRotationDeps({ tlsCaFile: "/nonexistent/ca.pem", emulatorMode: true, hsms: [], vaults: [], lifecycleTopic: { endpoint: "https://127.0.0.1:1/api/events" } }, emu.credential());
    } catch (e) {
      failure = e;
    }
    expect((failure as LifecycleError).code).toBe("SettingsInvalid");
    expect((failure as Error).message).toMatch(/HSM_TLS_CA_FILE "\/nonexistent\/ca\.pem" cannot be read \(ENOENT\)/);
  });

  it("setVersionExpiry sets an exact expiry and is a no-op when repeated", async () => {
    const k = await emu.keyClient("primary").createRsaKey("pay-exp", { hsm: true });
    const version = k.properties.version ?? "";
    const at = new Date(Date.parse(k.properties.createdOn?.toISOString() ?? "") + 100 * DAY).toISOString();
    expect(await setVersionExpiry({ instance: primary, name: "pay-exp", version, expiresOn: at }, deps)).toEqual({ kind: "set", version, expiresOn: at });
    expect(await setVersionExpiry({ instance: primary, name: "pay-exp", version, expiresOn: at }, deps)).toEqual({ kind: "unchanged", version, expiresOn: at });
    expect((await emu.keyClient("primary").getKey("pay-exp")).properties.expiresOn?.toISOString()).toBe(at);
  });
});

describe("inventory over several list pages", () => {
  it("follows every key list page (25 keys each) and reads versions only for the due key", async () => {
    const keys = emu.keyClient("app");
    const now = await emulatorNow("app");
    for (let i = 0; i < 26; i++) await keys.createEcKey(`bulk-${String(i).padStart(2, "0")}`, { curve: "P-256", expiresOn: new Date(now.getTime() + 300 * DAY) });
    await keys.createEcKey("zz-last-due", { curve: "P-256", expiresOn: new Date(now.getTime() + 2 * DAY) });
    let total = 0;
    for await (const _ of keys.listPropertiesOfKeys()) total++;
    expect(total).toBeGreaterThan(25);
    const inventory = await listDueKeys({ instance: app, policy, now: now.toISOString() }, deps);
    expect(inventory.listed).toBe(total);
    expect(inventory.requests.keyPages).toBe(Math.ceil(total / 25));
    expect(inventory.due.map((d) => d.name)).toEqual(["zz-last-due"]);
    expect(inventory.requests.versionPages).toBe(1);
  });
});

describe("retirement", () => {
  it("disables the old version only after the grace period, never the newest, never purges", async () => {
    const keys = emu.keyClient("shifted");
    const k = await keys.createRsaKey("pay-retire", { hsm: true });
    const v1 = k.properties.version ?? "";
    const r = await rotateKeyVersion({ instance: shifted, name: "pay-retire", fromVersion: v1, newVersionExpiry: "P180D" }, deps);
    const v2 = r.version;

    const early = await retireKeyVersions({ instance: shifted, name: "pay-retire", currentVersion: v2, gracePeriod: "P7D", now: (await emulatorNow("shifted")).toISOString() }, deps);
    expect(early.results).toEqual([]);
    expect(early.plan.keep).toEqual(expect.arrayContaining([expect.objectContaining({ version: v1, reason: "inGrace" }), { version: v2, reason: "current" }]));
    expect(early.plan.nextDueOn).toBeDefined();
    expect(await versionsOf("shifted", "pay-retire")).toEqual(expect.arrayContaining([{ version: v1, enabled: true }, { version: v2, enabled: true }]));

    await shiftDays("shifted", 8);
    const late = await retireKeyVersions({ instance: shifted, name: "pay-retire", currentVersion: v2, gracePeriod: "P7D", now: (await emulatorNow("shifted")).toISOString() }, deps);
    expect(late.results).toEqual([{ kind: "disabled", version: v1 }]);
    const versions = await versionsOf("shifted", "pay-retire");
    // Both versions still exist (disabled, not purged); the newest stays enabled.
    expect(versions).toHaveLength(2);
    expect(versions).toEqual(expect.arrayContaining([{ version: v1, enabled: false }, { version: v2, enabled: true }]));

    // A stale plan naming the current version is refused by the activity itself.
    expect(await disableKeyVersion({ instance: shifted, name: "pay-retire", version: v2 }, deps)).toEqual({ kind: "refusedCurrent", version: v2 });
    expect(await disableKeyVersion({ instance: shifted, name: "pay-retire", version: v1 }, deps)).toEqual({ kind: "alreadyDisabled", version: v1 });
    // Even with the wrong "current" passed in, the real newest version is kept.
    const wrong = await retireKeyVersions({ instance: shifted, name: "pay-retire", currentVersion: v1, gracePeriod: "P7D", now: (await emulatorNow("shifted")).toISOString() }, deps);
    expect(wrong.results.filter((x) => x.kind === "disabled")).toEqual([]);
    expect((await keys.getKey("pay-retire")).properties.enabled).toBe(true);

    const listed = await listKeyVersions({ instance: shifted, name: "pay-retire" }, deps);
    expect(listed.current).toBe(v2);
    expect(listed.versions).toHaveLength(2);
  });
});

describe("foreign new versions and notices", () => {
  it("records and verifies a version someone else created, without rotating", async () => {
    const keys = emu.keyClient("primary");
    await keys.createRsaKey("pay-foreign", { hsm: true });
    await keys.updateKeyRotationPolicy("pay-foreign", { expiresIn: "P60D" });
    const theirs = await keys.rotateKey("pay-foreign");
    const recorded = await recordForeignVersion({ instance: primary, name: "pay-foreign", version: theirs.properties.version ?? "" }, deps);
    expect(recorded).toMatchObject({ kind: "recorded", version: theirs.properties.version, isCurrent: true, verification: { kind: "verified" } });
    expect(recorded.keyId).toBe(theirs.id);
    expect((await versionsOf("primary", "pay-foreign")).length).toBe(2);
  });

  it("builds one KeyNearExpiry / KeyExpired per HSM key, version and stage, shaped like a vault's", async () => {
    const keys = emu.keyClient("primary");
    const now = await emulatorNow("primary");
    const near = await keys.createEcKey("pay-notice", { hsm: true, curve: "P-384", expiresOn: new Date(now.getTime() + 3 * DAY) });
    const notices = (await listDueKeys({ instance: primary, policy, now: now.toISOString() }, deps)).notices.filter((n) => n.name === "pay-notice");
    expect(notices.map((n) => n.stage)).toEqual(["P7D"]);
    const out = await publishNotices({ instance: primary, notices, now: now.toISOString() }, deps);
    expect(out.outcomes).toBeUndefined();
    const [event] = out.events;
    expect(event).toMatchObject({
      type: "Microsoft.KeyVault.KeyNearExpiry",
      subject: "pay-notice",
      data: { Id: near.id, VaultName: "primary", ObjectType: "Key", ObjectName: "pay-notice", Version: near.properties.version, NBF: null, EXP: Math.floor((near.properties.expiresOn?.getTime() ?? 0) / 1000) },
    });
    expect(event?.id).toBe(`notice:${new URL(emu.url("primary")).host}:pay-notice:${near.properties.version}:P7D`);
    expect(validateLifecycleEventData(event?.type ?? "", event?.data)).toEqual([]);

    // With a publisher, the same events go to the lifecycle topic and reach a subscriber unchanged.
    const subscriber = await startSubscriber();
    try {
      const engine = eventGridEngineOf(emu.emulator);
      expect(engine).toBeDefined();
      engine!.addSubscription({ name: "ops", source: "lifecycle", endpoint: subscriber.url, includedEventTypes: ["Microsoft.KeyVault.KeyNearExpiry"] });
      expect(await engine!.whenValidated("ops")).toBe(true);
      const topic = emu.emulator.readyLine().instances["lifecycle"] as unknown as Record<string, string>;
      // The composition root the function app uses: CA from HSM_TLS_CA_FILE, topic key from the settings.
      const appDeps = createRotationDeps(
        { tlsCaFile: emu.emulator.caFile, emulatorMode: true, hsms: configuredInstancesOf(emu).filter((i) => i.kind === "managedHsm"), vaults: configuredInstancesOf(emu).filter((i) => i.kind === "vault"), lifecycleTopic: { endpoint: topic["endpoint"]!, key: readFileSync(topic["keyFile"]!, "utf8").trim() } },
        emu.credential(),
      );
      const sent = await publishNotices({ instance: primary, notices, now: now.toISOString() }, appDeps);
      expect(sent).toMatchObject({ published: 1, failed: 0, outcomes: [{ kind: "published", id: event?.id }] });
      await subscriber.waitFor(() => subscriber.notifications().length > 0, 10_000);
      const delivered = subscriber.notifications().flatMap((n) => n.events);
      expect(delivered).toEqual([expect.objectContaining({ id: event?.id, eventType: "Microsoft.KeyVault.KeyNearExpiry", subject: "pay-notice", data: event?.data })]);
    } finally {
      await subscriber.close();
    }

    // An excluded HSM key expiring in 3 days: no rule rotates it, so its notice goes out saying what a person must do.
    const legacy = await keys.createRsaKey("legacy-soon", { hsm: true, expiresOn: new Date(now.getTime() + 3 * DAY) });
    const inventory = await listDueKeys({ instance: primary, policy, now: now.toISOString() }, deps);
    expect(inventory.due.map((d) => d.name)).not.toContain("legacy-soon");
    const legacyNotices = inventory.notices.filter((n) => n.name === "legacy-soon");
    // No rule would govern legacy-* on primary: Key Vault's own 30-day lead time.
    expect(legacyNotices).toEqual([expect.objectContaining({ stage: "P30D", version: legacy.properties.version, manualAction: expect.stringContaining("excluded by the rotation policy (pinned by consumers). Fix:") })]);
    const legacyEvent = (await publishNotices({ instance: primary, notices: legacyNotices, now: now.toISOString() }, deps)).events[0];
    expect(legacyEvent).toMatchObject({ type: "Microsoft.KeyVault.KeyNearExpiry", subject: "legacy-soon", data: { Id: legacy.id, ManualAction: legacyNotices[0]?.manualAction } });
    expect(validateLifecycleEventData(legacyEvent?.type ?? "", legacyEvent?.data)).toEqual([]);

    // An expired key gives KeyExpired.
    const expired = await publishNotices({ instance: primary, notices: [{ ...notices[0]!, stage: "expired", eventId: "x" }] }, deps);
    expect(expired.events[0]?.type).toBe("Microsoft.KeyVault.KeyExpired");
  });
});

describe("errors name the cause and the fix", () => {
  it("works end to end with only HSM Lifecycle Rotation", async () => {
    const oid = randomUUID();
    await assignLifecycleRole("primary", HSM_ROTATION_ROLE, oid);
    const user = depsFor(oid);
    const k = await emu.keyClient("primary").createRsaKey("pay-user", { hsm: true });
    const r = await rotateKeyVersion({ instance: primary, name: "pay-user", fromVersion: k.properties.version ?? "", newVersionExpiry: "P90D" }, user);
    expect(r.kind).toBe("rotated");
    expect(await verifyKeyVersion({ instance: primary, name: "pay-user", version: r.version, previousVersion: r.previousVersion }, user)).toMatchObject({ kind: "verified" });
    expect(await disableKeyVersion({ instance: primary, name: "pay-user", version: r.previousVersion }, user)).toEqual({ kind: "disabled", version: r.previousVersion });
  });

  it("a Managed HSM principal without HSM Lifecycle Rotation (even a Crypto Officer) gets MissingRole naming that role", async () => {
    const oid = randomUUID();
    await assign("primary", HSM_ROLE_IDS.cryptoOfficer, oid);
    const k = await emu.keyClient("primary").createRsaKey("pay-officer", { hsm: true });
    const failure = await rotateKeyVersion({ instance: primary, name: "pay-officer", fromVersion: k.properties.version ?? "" }, depsFor(oid)).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(LifecycleError);
    const parsed = parseActivityFailure(new Error((failure as Error).message));
    expect(parsed.code).toBe("MissingRole");
    expect(parsed.retryable).toBe(false);
    expect((failure as Error).message).toContain('"HSM Lifecycle Rotation"');
    expect((await versionsOf("primary", "pay-officer")).length).toBe(1);
  });

  it("works on a vault with only Vault Lifecycle Rotation", async () => {
    const oid = randomUUID();
    await assignLifecycleRole("app", VAULT_ROTATION_ROLE, oid);
    const user = depsFor(oid);
    const k = await emu.keyClient("app").createRsaKey("vault-user");
    const r = await rotateKeyVersion({ instance: app, name: "vault-user", fromVersion: k.properties.version ?? "", newVersionExpiry: "P90D" }, user);
    expect(r.kind).toBe("rotated");
    if (r.kind !== "rotated") return;
    expect(await verifyKeyVersion({ instance: app, name: "vault-user", version: r.version, previousVersion: r.previousVersion }, user)).toMatchObject({ kind: "verified" });
    expect(await disableKeyVersion({ instance: app, name: "vault-user", version: r.previousVersion }, user)).toEqual({ kind: "disabled", version: r.previousVersion });
  });

  it("a vault principal with only Key Vault Crypto User gets MissingRole naming Vault Lifecycle Rotation on rotate", async () => {
    const oid = randomUUID();
    await assign("app", VAULT_ROLE_IDS.cryptoUser, oid);
    const k = await emu.keyClient("app").createRsaKey("cu-only");
    const failure = await rotateKeyVersion({ instance: app, name: "cu-only", fromVersion: k.properties.version ?? "" }, depsFor(oid)).catch((e: unknown) => e);
    expect((failure as Error).message).toMatch(/^\[MissingRole\] rotateKey on https:\/\/127\.0\.0\.1:\d+\/keys\/cu-only was refused .*"Vault Lifecycle Rotation"/);
    expect((await versionsOf("app", "cu-only")).length).toBe(1);
  });

  it("an unknown key is KeyNotFound and a throttled listing is retryable", async () => {
    const missing = await rotateKeyVersion({ instance: primary, name: "pay-nope", fromVersion: "0".repeat(32) }, deps).catch((e: unknown) => e);
    expect((missing as LifecycleError).code).toBe("KeyNotFound");
    const set = await emu.control("primary", "PUT", "/_emulator/faults", { throttleFraction: 1, remaining: 1, retryAfterSeconds: 0 });
    expect(set.status).toBe(200);
    const throttled = await listDueKeys({ instance: primary, policy }, deps).catch((e: unknown) => e);
    expect(throttled).toBeInstanceOf(LifecycleError);
    expect((throttled as LifecycleError).code).toBe("Throttled");
    expect((throttled as LifecycleError).retryable).toBe(true);
  });
});
