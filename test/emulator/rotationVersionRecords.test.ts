// Key-version records against the emulator and Azurite: what lets a rotation skip the GET before the rotate
// (three HSM requests per rotated key: the rotate and one round trip on each version), and what makes it read
// the key after all: no record, a stale listing, a record that fails its MAC, a rotation cut short by a crash,
// storage that cannot be reached. Each case checks the HSM's audit log and the key's versions, not return values only.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { manifestAuthenticator } from "../../shared/backup/manifestAuthenticator";
import { createKeyClients } from "../../shared/hsm/keyClients";
import { blobKeyVersionRecords } from "../../shared/rotation/activities/blobKeyVersionRecords";
import type { RotationDeps, RotationInstance } from "../../shared/rotation/activities/deps";
import type { KeyVersionRecords } from "../../shared/rotation/activities/keyVersionRecords";
import { rotateKeyVersion, type RotateKeyVersionInput } from "../../shared/rotation/activities/rotateKeyVersion";
import { verifyKeyVersion } from "../../shared/rotation/activities/verifyKeyVersion";
import { startAzurite, type AzuriteBlob } from "../support/azurite";
import { startTestEmulator, type TestEmulator } from "../support/emulator";
import { TEST_MANIFEST_KEY } from "../support/manifestKey";

let emu: TestEmulator;
let azurite: AzuriteBlob;
let container: ContainerClient;
let records: KeyVersionRecords;
const hsm: RotationInstance = { name: "rechsm", kind: "managedHsm" };
const logs: string[] = [];
let deps: RotationDeps;

beforeAll(async () => {
  [emu, azurite] = await Promise.all([startTestEmulator({ hsms: ["rechsm"] }), startAzurite()]);
  container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("rotation-pacing");
  await container.create();
  records = blobKeyVersionRecords(container, manifestAuthenticator(TEST_MANIFEST_KEY));
  deps = {
    clients: createKeyClients(emu.credential(), { ca: emu.ca, emulatorMode: true, retryOptions: { maxRetries: 0 } }),
    instances: [{ ...hsm, url: emu.url("rechsm") }],
    versionRecords: records,
    log: (line) => logs.push(line),
  };
}, 60_000);

afterAll(async () => {
  await Promise.all([emu?.close(), azurite?.stop()]);
});

type AuditRow = { operationName: string; properties: { requestUri: string } };

async function clock(): Promise<string> {
  return (await emu.control("rechsm", "GET", "/_emulator/clock")).body.now as string;
}

/** The HSM requests on `name` since `since`, as `Operation path` (lower-cased path), in order. */
async function requestsOn(name: string, since: string): Promise<string[]> {
  const rows = (await emu.control("rechsm", "GET", `/_emulator/audit?since=${encodeURIComponent(since)}`)).body.value as AuditRow[];
  return rows
    .map((r) => ({ op: r.operationName, path: new URL(r.properties.requestUri).pathname.toLowerCase() }))
    // The worker's one 401 challenge is not a request on the key.
    .filter((r) => r.op !== "Authentication" && r.path.split("/")[2] === name)
    .map((r) => `${r.op} ${r.path}`);
}

/** One rotation as `rotateKey` runs it: the rotate step, then one round trip on each version. */
async function rotateOnce(name: string, fromVersion: string, extra: Partial<RotateKeyVersionInput> = {}, d: RotationDeps = deps) {
  const rotated = await rotateKeyVersion({ instance: hsm, name, fromVersion, newVersionExpiry: "P90D", ...extra }, d);
  const verified = await verifyKeyVersion(
    {
      instance: hsm,
      name,
      version: rotated.version,
      key: rotated.newKey,
      previousVersion: fromVersion,
      ...(rotated.kind === "rotated" && rotated.previousKey !== undefined ? { previousKey: rotated.previousKey } : {}),
      roundTrips: "one",
      ...(rotated.kind === "rotated" ? { recordAs: { rotatedFrom: fromVersion } } : {}),
    },
    d,
  );
  return { rotated, verified };
}

async function versionsOf(name: string): Promise<string[]> {
  const out: string[] = [];
  for await (const p of emu.keyClient("rechsm").listPropertiesOfKeyVersions(name)) out.push(p.version ?? "");
  return out;
}

async function blobText(name: string): Promise<string> {
  return (await container.getBlockBlobClient(`key-versions/rechsm/${name}.json`).downloadToBuffer()).toString("utf8");
}

async function putBlob(name: string, text: string): Promise<void> {
  await container.getBlockBlobClient(`key-versions/rechsm/${name}.json`).upload(text, Buffer.byteLength(text));
}

async function freshKey(name: string, kind: "ec" | "rsa"): Promise<string> {
  const admin = emu.keyClient("rechsm");
  const k = kind === "ec" ? await admin.createEcKey(name, { hsm: true, curve: "P-256" }) : await admin.createRsaKey(name, { hsm: true, keySize: 2048 });
  await admin.updateKeyRotationPolicy(name, { expiresIn: "P90D", lifetimeActions: [] });
  return k.properties.version ?? "";
}

describe("a rotation that the last one recorded", () => {
  it.each([
    ["ec", "rec-ec", "sign"],
    ["rsa", "rec-rsa", "unwrapkey"],
  ] as const)("%s: the first rotation reads the key (4 requests); the next ones cost 3 — the rotate, a sign on the new version, a round trip on the previous one", async (kind, name, previousOp) => {
    const v1 = await freshKey(name, kind);
    const t1 = await clock();
    const first = await rotateOnce(name, v1, { confirmCurrent: false });
    expect(first.rotated).toMatchObject({ kind: "rotated", previousFrom: "service" });
    expect(first.verified).toMatchObject({ kind: "verified", previous: { kind: "verified" } });
    expect((await requestsOn(name, t1)).map((r) => r.split(" ")[0]).sort()).toEqual(["KeyGet", "KeyRotate", "KeySign", kind === "ec" ? "KeySign" : "KeyUnwrap"].sort());

    let from = first.rotated.version;
    for (let round = 0; round < 2; round++) {
      const t = await clock();
      const next = await rotateOnce(name, from, { confirmCurrent: false });
      expect(next.rotated).toMatchObject({ kind: "rotated", previousFrom: "record", previousVersion: from });
      expect(next.verified).toMatchObject({ kind: "verified", previous: { kind: "verified" } });
      const sent = await requestsOn(name, t);
      expect(sent).toHaveLength(3);
      expect(sent).toContain(`KeyRotate /keys/${name}/rotate`);
      expect(sent).toContain(`KeySign /keys/${name}/${next.rotated.version.toLowerCase()}/sign`);
      // The previous version is exercised on its exact id with the public key the record kept.
      expect(sent).toContain(`${previousOp === "sign" ? "KeySign" : "KeyUnwrap"} /keys/${name}/${from.toLowerCase()}/${previousOp}`);
      from = next.rotated.version;
    }
    expect(await versionsOf(name)).toHaveLength(4);
    // Public material only, and MAC'd: no private member of the JWK is ever written.
    const stored = JSON.parse(await blobText(name)) as { record: { current: Record<string, unknown>; rotatedFrom?: string }; mac: string };
    expect(stored.record.current.version).toBe(from);
    expect(Object.keys(stored.record.current)).not.toEqual(expect.arrayContaining(["d"]));
    for (const priv of ["d", "p", "q", "dp", "dq", "qi", "k"]) expect(stored.record.current[priv]).toBeUndefined();
    expect(stored.mac).toMatch(/^[0-9a-f]{64}$/);
  });

  it("without a recent listing (confirmCurrent absent) the key is read first, record or not", async () => {
    const v1 = await freshKey("rec-stale-listing", "ec");
    const r1 = await rotateOnce("rec-stale-listing", v1, { confirmCurrent: false });
    const t = await clock();
    const r2 = await rotateOnce("rec-stale-listing", r1.rotated.version);
    expect(r2.rotated).toMatchObject({ kind: "rotated", previousFrom: "service" });
    expect((await requestsOn("rec-stale-listing", t)).filter((r) => r.startsWith("KeyGet "))).toHaveLength(1);
  });

  it("a re-run of a recorded rotation rotates nothing: its claim is taken, so it reads the key and finds it moved on", async () => {
    const v1 = await freshKey("rec-rerun", "ec");
    const r1 = await rotateOnce("rec-rerun", v1, { confirmCurrent: false });
    const t = await clock();
    const again = await rotateKeyVersion({ instance: hsm, name: "rec-rerun", fromVersion: v1, newVersionExpiry: "P90D", confirmCurrent: false }, deps);
    expect(again).toMatchObject({ kind: "alreadyRotated", version: r1.rotated.version, previousVersion: v1 });
    expect(again.createdOn).toBe(r1.rotated.createdOn);
    expect((await requestsOn("rec-rerun", t)).map((r) => r.split(" ")[0])).toEqual(["KeyGet"]);
    expect(await versionsOf("rec-rerun")).toHaveLength(2);
  });

  it("a crash between the rotate and its record (its claim left): the next attempt reads the key and does not rotate twice", async () => {
    const v1 = await freshKey("rec-crash", "rsa");
    logs.length = 0;
    const r1 = await rotateOnce("rec-crash", v1, { confirmCurrent: false });
    const v2 = r1.rotated.version;
    expect((await records.read("rechsm", "rec-crash")).record?.current.version).toBe(v2);
    // What a worker leaves when it dies right after the HSM answered the rotate: its claim of v2's rotate, a new
    // version, and the record still naming v2.
    expect(await records.claimRotate("rechsm", "rec-crash", v2)).toBe(true);
    const made = await emu.keyClient("rechsm").rotateKey("rec-crash");
    const t = await clock();
    const rerun = await rotateKeyVersion({ instance: hsm, name: "rec-crash", fromVersion: v2, newVersionExpiry: "P90D", confirmCurrent: false }, deps);
    expect(rerun).toMatchObject({ kind: "alreadyRotated", version: made.properties.version });
    expect((await requestsOn("rec-crash", t)).map((r) => r.split(" ")[0])).toEqual(["KeyGet"]);
    expect(logs.join("\n")).toMatch(/an earlier attempt claimed the rotate of /);
    expect(await versionsOf("rec-crash")).toHaveLength(3);
    // The record now names the version the service has, so the following rotation needs no GET again.
    expect((await records.read("rechsm", "rec-crash")).record?.current.version).toBe(made.properties.version);
  });

  it("a record someone wrote without the key — a planted public key, another key's record, garbage — is ignored: the key is read and the rotation is right", async () => {
    const name = "rec-forged";
    const v1 = await freshKey(name, "rsa");
    const r1 = await rotateOnce(name, v1, { confirmCurrent: false });
    const other = await freshKey("rec-forged-other", "rsa");
    await rotateOnce("rec-forged-other", other, { confirmCurrent: false });
    const genuine = JSON.parse(await blobText(name)) as { record: { current: { n: string } }; mac: string };
    const otherRecord = await blobText("rec-forged-other");
    const planted = JSON.stringify({ ...genuine, record: { ...genuine.record, current: { ...genuine.record.current, n: (JSON.parse(otherRecord) as typeof genuine).record.current.n } } });
    let from = r1.rotated.version;
    for (const [label, text] of [["planted public key", planted], ["another key's record", otherRecord], ["garbage", "{not json"]] as const) {
      await putBlob(name, text);
      logs.length = 0;
      const t = await clock();
      const next = await rotateOnce(name, from, { confirmCurrent: false });
      expect(next.rotated, label).toMatchObject({ kind: "rotated", previousFrom: "service" });
      expect(next.verified, label).toMatchObject({ kind: "verified", previous: { kind: "verified" } });
      expect((await requestsOn(name, t)).filter((r) => r.startsWith("KeyGet ")), label).toHaveLength(1);
      expect(logs.join("\n"), label).toMatch(/version record ignored: /);
      // The forged blob is replaced by a genuine record of the new version.
      expect((await records.read("rechsm", name)).record?.current.version, label).toBe(next.rotated.version);
      from = next.rotated.version;
    }
    expect(await versionsOf(name)).toHaveLength(5);
  });

  it("a previous version disabled since it was recorded is skipped with the service's reason; the new version still verifies", async () => {
    const name = "rec-disabled-prev";
    const v1 = await freshKey(name, "ec");
    const r1 = await rotateOnce(name, v1, { confirmCurrent: false });
    const v2 = r1.rotated.version;
    const r2 = await rotateKeyVersion({ instance: hsm, name, fromVersion: v2, newVersionExpiry: "P90D", confirmCurrent: false }, deps);
    expect(r2).toMatchObject({ kind: "rotated", previousFrom: "record", previousKey: { version: v2, enabled: true } });
    // Disabled after the record was written (by a person, or early disabling) and before the round trip.
    await emu.keyClient("rechsm").updateKeyProperties(name, v2, { enabled: false });
    const verified = await verifyKeyVersion({ instance: hsm, name, version: r2.version, key: r2.newKey, previousVersion: v2, ...(r2.kind === "rotated" && r2.previousKey !== undefined ? { previousKey: r2.previousKey } : {}), roundTrips: "one" }, deps);
    expect(verified).toMatchObject({ kind: "verified", previous: { kind: "skipped", reason: expect.stringMatching(/KeyDisabled/) } });
  });

  it("a container the deployment has not made yet is made by the first write; until then there is no record", async () => {
    const fresh = blobKeyVersionRecords(BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("pacing-not-made-yet"), manifestAuthenticator(TEST_MANIFEST_KEY));
    expect(await fresh.read("rechsm", "k1")).toEqual({});
    const v1 = await freshKey("rec-new-container", "ec");
    const r = await rotateOnce("rec-new-container", v1, { confirmCurrent: false }, { ...deps, versionRecords: fresh });
    expect(r.rotated).toMatchObject({ kind: "rotated", previousFrom: "service" });
    expect((await fresh.read("rechsm", "rec-new-container")).record?.current.version).toBe(r.rotated.version);
  });

  it("storage that cannot be reached costs the GET, not the rotation", async () => {
    const v1 = await freshKey("rec-no-storage", "ec");
    const unreachable = BlobServiceClient.fromConnectionString(azurite.connectionString.replace(/:\d+\//, ":1/"), { retryOptions: { maxTries: 1 } }).getContainerClient("rotation-pacing");
    const offline: RotationDeps = { ...deps, versionRecords: blobKeyVersionRecords(unreachable, manifestAuthenticator(TEST_MANIFEST_KEY)) };
    logs.length = 0;
    const r = await rotateOnce("rec-no-storage", v1, { confirmCurrent: false }, offline);
    expect(r.rotated).toMatchObject({ kind: "rotated", previousFrom: "service" });
    expect(r.verified).toMatchObject({ kind: "verified" });
    expect(logs.join("\n")).toMatch(/version record unreadable/);
    expect(await versionsOf("rec-no-storage")).toHaveLength(2);
  });
});
