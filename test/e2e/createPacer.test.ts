// Key-creation pacing across workers: slots claimed by compare-and-swap on one shared store are distinct and
// 1/rate apart, whichever worker asks, in memory and in Blob Storage (Azurite). A fixed clock makes every slot
// value exact, so nothing here depends on timing.
import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAzuriteProcess, type AzuriteProcess } from "../../dev/azuriteProcess";
import { blobSlotStore } from "../../shared/rotation/activities/blobSlotStore";
import { createPacer, type SlotStore } from "../../shared/rotation/activities/createPacer";
import { createKeyClients } from "../../shared/hsm/keyClients";
import type { RotationDeps, RotationInstance } from "../../shared/rotation/activities/deps";
import { memorySlotStore } from "../../shared/rotation/activities/memorySlotStore";
import { reserveCreateSlot, type ReserveCreateSlotInput } from "../../shared/rotation/activities/reserveCreateSlot";

const hsm: RotationInstance = { name: "primary", kind: "managedHsm" };
const other: RotationInstance = { name: "dr", kind: "managedHsm" };

let azurite: AzuriteProcess;

beforeAll(async () => {
  azurite = await startAzuriteProcess();
}, 60_000);

afterAll(async () => {
  await azurite?.stop();
});

/** Two workers (two pacers) on one store with a clock stopped at `t0`: what slots do N concurrent callers get? */
async function slotsOf(stores: [SlotStore, SlotStore], rate: number, callers: number, t0 = 1_000_000) {
  const slots: { instance: string; at: number }[] = [];
  const waits: number[] = [];
  const make = (store: SlotStore) =>
    createPacer(store, { rateFor: (i) => (i.name === "dr" ? 0 : rate), now: () => t0, sleep: async (ms) => void waits.push(ms), onSlot: (instance, at) => slots.push({ instance, at }) });
  const workers = [make(stores[0]), make(stores[1])];
  await Promise.all(Array.from({ length: callers }, (_, i) => workers[i % 2]?.reserve(hsm)));
  return { slots: slots.map((s) => s.at).sort((a, b) => a - b), waits: waits.sort((a, b) => a - b), workers };
}

describe.each([
  ["memory", () => Promise.resolve(memorySlotStore()), 1],
  ["blob (Azurite)", async () => blobSlotStore(BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("rotation-pacing")), 2],
] as const)("%s store", (label, makeStore, clients) => {
  it("16 callers on two workers get 16 distinct slots exactly 1/rate apart, the first at once", async () => {
    const store = await makeStore();
    // For the blob store each worker gets its own client, as two Function app instances would.
    const second = clients === 2 ? blobSlotStore(BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("rotation-pacing")) : store;
    const t0 = label === "memory" ? 1_000_000 : 2_000_000;
    const { slots, waits } = await slotsOf([store, second], 5, 16, t0);
    expect(slots).toEqual(Array.from({ length: 16 }, (_, i) => t0 + i * 200));
    expect(waits).toEqual(Array.from({ length: 15 }, (_, i) => (i + 1) * 200));
  });

  it("an idle instance hands out its next slot at once, without a saved-up burst; an unpaced one touches no store", async () => {
    const store = await makeStore();
    let now = 5_000_000;
    const waits: number[] = [];
    const pacer = createPacer(store, { rateFor: (i) => (i.name === "dr" ? 0 : 2), now: () => now, sleep: async (ms) => void waits.push(ms) });
    await pacer.reserve(hsm);
    now += 60_000; // a minute idle
    expect(await pacer.reserve(hsm)).toBe(0);
    expect(await pacer.reserve(hsm)).toBe(500);
    expect(await pacer.reserve(other)).toBe(0);
    expect((await store.read("dr")).nextAt).toBe(0);
  });

  it("a worker claims its next slot with one conditional write, no read, until another worker writes in between", async () => {
    const counted = (inner: SlotStore) => {
      const calls = { reads: 0, writes: 0 };
      const store: SlotStore = {
        read: (i) => ((calls.reads += 1), inner.read(i)),
        write: (i, at, tag) => ((calls.writes += 1), inner.write(i, at, tag)),
      };
      return { store, calls };
    };
    const shared = await makeStore();
    const second = clients === 2 ? blobSlotStore(BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("rotation-pacing")) : shared;
    const a = counted(shared);
    const b = counted(second);
    const t0 = label === "memory" ? 7_000_000 : 8_000_000;
    const slots: number[] = [];
    const make = (store: SlotStore) => createPacer(store, { rateFor: () => 5, now: () => t0, sleep: async () => undefined, onSlot: (_i, at) => slots.push(at) });
    const [workerA, workerB] = [make(a.store), make(b.store)];
    const instance: RotationInstance = { name: `cached-${label === "memory" ? "m" : "b"}`, kind: "managedHsm" };
    await workerA.reserve(instance);
    await workerA.reserve(instance);
    await workerA.reserve(instance);
    expect(a.calls).toEqual({ reads: 1, writes: 3 });
    await workerB.reserve(instance);
    // A's remembered tag is stale now: its write is refused, it reads, and takes the slot after B's.
    await workerA.reserve(instance);
    expect(a.calls).toEqual({ reads: 2, writes: 5 });
    expect(slots).toEqual([t0, t0 + 200, t0 + 400, t0 + 600, t0 + 800]);
  });
});

it("a lost race is retried: the caller gets the slot after the one the other writer took", async () => {
  const inner = memorySlotStore();
  let stolen = false;
  // Another worker claims a slot between this worker's read and its write, once.
  const racing: SlotStore = {
    read: (i) => inner.read(i),
    async write(i, nextAt, tag) {
      if (!stolen) {
        stolen = true;
        const now = await inner.read(i);
        await inner.write(i, Math.max(10_000, now.nextAt) + 1000, now.tag);
      }
      return inner.write(i, nextAt, tag);
    },
  };
  const slots: number[] = [];
  const pacer = createPacer(racing, { rateFor: () => 1, now: () => 10_000, sleep: async () => undefined, onSlot: (_i, at) => slots.push(at) });
  await pacer.reserve(hsm);
  expect(slots).toEqual([11_000]);
  expect((await inner.read("primary")).nextAt).toBe(12_000);
});

it("reserveCreateSlot takes a configured instance name only: a URL or an unknown name is refused and claims no slot", async () => {
  const store = memorySlotStore();
  const deps: RotationDeps = {
    // No HSM request is expected: a credential that fails any token request.
    clients: createKeyClients({ getToken: () => Promise.reject(new Error("reserveCreateSlot must not call an HSM")) }),
    instances: [{ ...hsm, url: "https://primary.managedhsm.azure.net" }],
    createPacer: createPacer(store, { rateFor: () => 1, now: () => 20_000, sleep: async () => undefined }),
  };
  const refused = (input: unknown) => reserveCreateSlot(input as ReserveCreateSlotInput, deps).catch((e: unknown) => (e as Error).message);
  expect(await refused({ instance: { name: "primary", kind: "managedHsm", url: "https://attacker.example" } })).toMatch(/^\[BadParameter\] reserveCreateSlot: the input carries a URL instead of an instance name/);
  expect(await refused({ instance: { name: "elsewhere", kind: "managedHsm" } })).toMatch(/^\[BadParameter\] reserveCreateSlot: "elsewhere" is not a configured instance/);
  expect(await store.read("primary")).toEqual({ nextAt: 0 });
  expect(await store.read("elsewhere")).toEqual({ nextAt: 0 });
  expect(await reserveCreateSlot({ instance: hsm }, deps)).toEqual({ slotAt: new Date(20_000).toISOString() });
  expect((await store.read("primary")).nextAt).toBe(21_000);
});
