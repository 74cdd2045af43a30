// What one rotation costs the HSM and what its verification proves, from the emulator's audit log: one
// challenge per HSM per worker, the GET + rotate + one round trip on each version once the policy is set (a worker
// without key-version records; with them the GET goes, see rotationVersionRecords.test.ts),
// the previous version exercised on its exact id, and creations never faster than the configured pace.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKeyClients } from "../../shared/hsm/keyClients";
import { createPacer } from "../../shared/rotation/activities/createPacer";
import type { RotationDeps, RotationInstance } from "../../shared/rotation/activities/deps";
import { ensurePolicyAndRotate } from "../../shared/rotation/activities/ensureAndRotate";
import { versionFactsOf } from "../../shared/rotation/activities/keyFacts";
import { memorySlotStore } from "../../shared/rotation/activities/memorySlotStore";
import { verifyKeyVersion } from "../../shared/rotation/activities/verifyKeyVersion";
import { startTestEmulator, type TestEmulator } from "../support/emulator";

let emu: TestEmulator;
const hsm: RotationInstance = { name: "reqhsm", kind: "managedHsm" };
/** A worker's deps: one KeyClients for every activity call (as functions/rotation.ts builds it), the HSM from the settings. */
let workerDeps: (extra?: Partial<RotationDeps>) => RotationDeps;

beforeAll(async () => {
  emu = await startTestEmulator({ hsms: ["reqhsm"] });
  workerDeps = (extra = {}) => ({
    clients: createKeyClients(emu.credential(), { ca: emu.ca, emulatorMode: true, retryOptions: { maxRetries: 0 } }),
    instances: [{ ...hsm, url: emu.url("reqhsm") }],
    ...extra,
  });
}, 60_000);

afterAll(async () => {
  await emu?.close();
});

type AuditRow = { time: string; operationName: string; properties: { requestUri: string } };

async function auditSince(since: string): Promise<AuditRow[]> {
  const audit = await emu.control("reqhsm", "GET", `/_emulator/audit?since=${encodeURIComponent(since)}`);
  return audit.body.value as AuditRow[];
}

/** One rotation as the rotateKey orchestration runs it: the rotate step, then one round trip on each version. */
async function rotateOnce(deps: RotationDeps, name: string, fromVersion: string) {
  const rotated = await ensurePolicyAndRotate({ instance: hsm, name, fromVersion, newVersionExpiry: "P90D" }, deps);
  const verified = await verifyKeyVersion(
    { instance: hsm, name, version: rotated.version, key: rotated.newKey, previousVersion: rotated.previousVersion, ...(rotated.previousKey === undefined ? {} : { previousKey: rotated.previousKey }), roundTrips: "one" },
    deps,
  );
  return { rotated, verified };
}

describe("requests per rotated key", () => {
  it("a worker sends one challenge per HSM however many keys it rotates; once policies are set a key costs 4 requests, the previous version exercised on its exact id", async () => {
    const admin = emu.keyClient("reqhsm");
    const names = ["ec-a", "ec-b", "rsa-a", "rsa-b"];
    const versions = new Map<string, string>();
    for (const name of names) {
      const k = name.startsWith("ec") ? await admin.createEcKey(name, { hsm: true, curve: "P-256" }) : await admin.createRsaKey(name, { hsm: true, keySize: 2048 });
      versions.set(name, k.properties.version ?? "");
    }
    // One worker: one KeyClients for every activity call, as functions/rotation.ts builds it.
    const deps = workerDeps();
    const since = (await emu.control("reqhsm", "GET", "/_emulator/clock")).body.now as string;
    // First rotations set each key's policy (Managed HSM keys start without one).
    for (const name of names) versions.set(name, (await rotateOnce(deps, name, versions.get(name) ?? "")).rotated.version);
    const steady = (await emu.control("reqhsm", "GET", "/_emulator/clock")).body.now as string;
    const previous = new Map(versions);
    for (const name of names) {
      const { rotated, verified } = await rotateOnce(deps, name, versions.get(name) ?? "");
      expect(rotated).toMatchObject({ kind: "rotated", policy: "matched" });
      expect(verified).toMatchObject({ kind: "verified", previous: { kind: "verified" } });
      versions.set(name, rotated.version);
    }
    const all = await auditSince(since);
    expect(all.filter((r) => r.operationName === "Authentication")).toHaveLength(1);

    const later = all.filter((r) => r.time >= steady);
    for (const name of names) {
      const mine = later.filter((r) => new URL(r.properties.requestUri).pathname.split("/")[2] === name);
      const ops = mine.map((r) => r.operationName).sort();
      expect(ops).toEqual(name.startsWith("ec") ? ["KeyGet", "KeyRotate", "KeySign", "KeySign"] : ["KeyGet", "KeyRotate", "KeySign", "KeyUnwrap"]);
      const paths = mine.map((r) => new URL(r.properties.requestUri).pathname.toLowerCase());
      // The new version signs; the previous one is exercised on its own id: RSA unwraps (what consumers still
      // need it for), EC signs.
      expect(paths).toContain(`/keys/${name}/${versions.get(name) ?? ""}/sign`);
      expect(paths).toContain(`/keys/${name}/${previous.get(name) ?? ""}/${name.startsWith("ec") ? "sign" : "unwrapkey"}`);
    }
  });

  it("a fresh worker's first requests sent all at once keep their bodies (one challenge, then the rest)", async () => {
    const admin = emu.keyClient("reqhsm");
    const key = await admin.createEcKey("cold-sign", { hsm: true, curve: "P-256" });
    const since = (await emu.control("reqhsm", "GET", "/_emulator/clock")).body.now as string;
    for (let round = 0; round < 3; round++) {
      // A new worker: its first 12 requests on the HSM's pipeline go out together, each with a body (sign).
      const clients = createKeyClients(emu.credential(), { ca: emu.ca, emulatorMode: true, retryOptions: { maxRetries: 0 } });
      const results = await Promise.allSettled(Array.from({ length: 12 }, () => clients.crypto(key).sign("ES256", Buffer.alloc(32, 7))));
      expect(results.filter((r) => r.status === "rejected").map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
    }
    expect((await auditSince(since)).filter((r) => r.operationName === "Authentication")).toHaveLength(3);
  });

  it("a previous version that does not work is reported, and the new version still verifies", async () => {
    const admin = emu.keyClient("reqhsm");
    const deps = workerDeps();
    const v1 = await admin.createRsaKey("rsa-prev-broken", { hsm: true, keySize: 2048 });
    const other = await admin.createRsaKey("rsa-prev-other", { hsm: true, keySize: 2048 });
    const rotated = await ensurePolicyAndRotate({ instance: hsm, name: "rsa-prev-broken", fromVersion: v1.properties.version ?? "", newVersionExpiry: "P90D" }, deps);
    // The previous version's published public key swapped for another key's: its unwrap cannot match.
    const forged = { ...versionFactsOf(v1), n: versionFactsOf(other).n ?? "" };
    const result = await verifyKeyVersion({ instance: hsm, name: "rsa-prev-broken", version: rotated.version, key: rotated.newKey, previousVersion: v1.properties.version ?? "", previousKey: forged, roundTrips: "one" }, deps);
    expect(result).toMatchObject({ kind: "verified", checks: ["sign/verify RS256"], previous: { kind: "failed" } });
    expect(result.previous?.kind === "failed" ? result.previous.reason : "").toMatch(/^wrap\/unwrap RSA-OAEP-256: /);
  });

  it("a policy changed behind the app's back is noticed from the rotate's answer and set again", async () => {
    const admin = emu.keyClient("reqhsm");
    const deps = workerDeps();
    const v1 = await admin.createEcKey("ec-policy-drift", { hsm: true, curve: "P-256" });
    const first = await ensurePolicyAndRotate({ instance: hsm, name: "ec-policy-drift", fromVersion: v1.properties.version ?? "", newVersionExpiry: "P90D" }, deps);
    await admin.updateKeyRotationPolicy("ec-policy-drift", { expiresIn: "P30D", lifetimeActions: [] });
    const second = await ensurePolicyAndRotate({ instance: hsm, name: "ec-policy-drift", fromVersion: first.version, newVersionExpiry: "P90D" }, deps);
    expect(second).toMatchObject({ kind: "rotated", policy: "updated" });
    expect((await admin.getKeyRotationPolicy("ec-policy-drift")).expiresIn).toBe("P90D");
    // The version made under the drifted policy got the configured expiry all the same.
    const created = Date.parse(second.createdOn ?? "");
    expect(Date.parse(second.expiresOn ?? "") - created).toBe(90 * 86_400_000);
  });
});

describe("creation pacing", () => {
  it("concurrent rotations of one HSM send their creates no faster than the configured rate (audit log)", async () => {
    const admin = emu.keyClient("reqhsm");
    const rate = 4;
    const names = Array.from({ length: 10 }, (_, i) => `paced-${i}`);
    const from = new Map<string, string>();
    for (const name of names) from.set(name, (await admin.createEcKey(name, { hsm: true, curve: "P-256" })).properties.version ?? "");
    await Promise.all(names.map((name) => admin.updateKeyRotationPolicy(name, { expiresIn: "P90D", lifetimeActions: [] })));
    const slots: number[] = [];
    const deps = workerDeps({ createPacer: createPacer(memorySlotStore(), { rateFor: () => rate, onSlot: (_i, at) => slots.push(at) }) });
    const since = (await emu.control("reqhsm", "GET", "/_emulator/clock")).body.now as string;
    const results = await Promise.all(names.map((name) => ensurePolicyAndRotate({ instance: hsm, name, fromVersion: from.get(name) ?? "", newVersionExpiry: "P90D" }, deps)));
    expect(results.every((r) => r.kind === "rotated")).toBe(true);
    // The slots handed out are exactly 1/rate apart.
    const sorted = [...slots].sort((a, b) => a - b);
    for (let i = 1; i < sorted.length; i++) expect((sorted[i] ?? 0) - (sorted[i - 1] ?? 0)).toBeGreaterThanOrEqual(1000 / rate - 1e-6);
    // And the HSM saw them so: each create is sent at its slot or later, and the first slot is no earlier than
    // the start, so the k-th create it finished came at least k/rate seconds after the start.
    const creates = (await auditSince(since)).filter((r) => r.operationName === "KeyRotate").map((r) => Date.parse(r.time)).sort((a, b) => a - b);
    expect(creates).toHaveLength(names.length);
    creates.forEach((t, k) => expect(t - Date.parse(since), `create #${k}`).toBeGreaterThanOrEqual((k * 1000) / rate - 5));
  });
});
