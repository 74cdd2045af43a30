/**
 * The request index and the listing built on it (`GET /api/requests`, `hsm-lifecycle requests`), against real
 * Azurite: the listing reads the index and asks durable only for the request ids it lists — never for the other
 * instances of the task hub — shows a pending request whatever its age, finished ones of the last 30 days, and the
 * index entries are write-once. The durable side is a stand-in for the one call the listing makes (`getStatus`),
 * holding thousands of unrelated instances and counting what is read.
 */
import { randomBytes } from "node:crypto";
import type { ContainerClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordRequestStep } from "../../shared/approvals/activities/recordRequestStep";
import { FINISHED_LIST_LIMIT, listRequests, REQUEST_LIST_DAYS, type RequestStatusReader } from "../../shared/approvals/listRequests";
import { blobRequestIndex, requestCreatedAt } from "../../shared/approvals/requestIndex";
import type { RequestView } from "../../shared/approvals/requestTypes";
import type { OperationRequestData } from "../../shared/events/lifecycleEventData";
import { orchestrationNames } from "../../shared/names";
import { startAzurite, type AzuriteBlob } from "../support/azurite";

const DAY = 86_400_000;
const NOW = new Date("2026-12-06T18:00:00Z");

let azurite: AzuriteBlob;

beforeAll(async () => {
  azurite = await startAzurite();
}, 60_000);

afterAll(async () => {
  await azurite?.stop();
});

function container(): ContainerClient {
  return azurite.blobServiceClient().getContainerClient(`pacing-${randomBytes(4).toString("hex")}`);
}

/** A request id made at `at` (the route's format). */
function requestId(at: Date): string {
  return `req-${at.toISOString().replace(/[-:]/g, "").replace(/\.\d+/, "").toLowerCase()}-${randomBytes(3).toString("hex")}`;
}

function view(id: string, status: RequestView["status"]): RequestView {
  const createdAt = (requestCreatedAt(id) as Date).toISOString();
  return { request: id, operation: "emergencyRotation", status, requester: "r", approvers: [], required: 1, instance: "primary", key: "k", reason: "policy", ticket: "CHG-1", createdAt, expiresAt: createdAt, updatedAt: createdAt };
}

/** The task hub: request instances and `unrelated` other instances; every id read is counted. */
function taskHub(requests: RequestView[], unrelated: number, runtimeStatus: Record<string, string> = {}): RequestStatusReader & { read: string[] } {
  const instances = new Map<string, { name: string; runtimeStatus: string; customStatus: unknown }>();
  for (let i = 0; i < unrelated; i++) instances.set(`rotate:primary:key-${i}:2026120${i % 7}`, { name: orchestrationNames.rotateKey, runtimeStatus: "Completed", customStatus: null });
  for (const r of requests) instances.set(r.request, { name: orchestrationNames.operationRequest, runtimeStatus: runtimeStatus[r.request] ?? (r.status === "pending" ? "Running" : "Completed"), customStatus: r });
  const read: string[] = [];
  return {
    read,
    getStatus(instanceId) {
      read.push(instanceId);
      const found = instances.get(instanceId);
      // durable-functions 3 throws on the extension's 404.
      if (found === undefined) return Promise.reject(new Error("DurableClient error: Durable Functions extension replied with HTTP 404 response."));
      return Promise.resolve({ ...found, input: undefined });
    },
  };
}

describe("request listing from the index", () => {
  it("reads only the indexed requests' status, not the thousands of other instances; pending whatever its age, finished of the last 30 days, newest first", async () => {
    const index = blobRequestIndex(container());
    const oldPending = requestId(new Date(NOW.getTime() - 100 * DAY));
    const recentDone = requestId(new Date(NOW.getTime() - 10 * DAY));
    const oldDone = requestId(new Date(NOW.getTime() - 40 * DAY));
    const crashedOld = requestId(new Date(NOW.getTime() - 45 * DAY));
    const crashedRecent = requestId(new Date(NOW.getTime() - 2 * DAY));
    const neverStarted = requestId(new Date(NOW.getTime() - DAY));
    const newPending = requestId(new Date(NOW.getTime() - 60_000));
    for (const id of [oldPending, recentDone, oldDone, crashedOld, crashedRecent, neverStarted, newPending]) await index.opened(id, { operation: "emergencyRotation", requester: "r", createdAt: NOW.toISOString() });
    await index.closed(recentDone, { status: "completed", at: NOW.toISOString() });
    await index.closed(oldDone, { status: "completed", at: NOW.toISOString() });
    const hub = taskHub(
      [view(oldPending, "pending"), view(recentDone, "completed"), view(oldDone, "completed"), view(crashedOld, "pending"), view(crashedRecent, "pending"), view(newPending, "pending")],
      5000,
      { [crashedOld]: "Failed", [crashedRecent]: "Failed" },
    );

    const listed = await listRequests(index, hub, NOW);

    expect(listed.map((v) => [v.request, v.status])).toEqual([
      [newPending, "pending"],
      [crashedRecent, "failed"],
      [recentDone, "completed"],
      [oldPending, "pending"],
    ]);
    // Only index entries were read: open ones (whatever their age) and the recently closed one; not the closed one
    // older than the window, and none of the 5,000 rotation instances.
    expect([...hub.read].sort()).toEqual([oldPending, recentDone, crashedOld, crashedRecent, neverStarted, newPending].sort());
  }, 60_000);

  it("with no index yet (no request ever made) lists nothing and reads nothing", async () => {
    const hub = taskHub([], 100);
    expect(await listRequests(blobRequestIndex(container()), hub, NOW)).toEqual([]);
    expect(hub.read).toEqual([]);
  });

  it(`reads at most ${FINISHED_LIST_LIMIT} finished requests (the newest), and every pending one`, async () => {
    const index = blobRequestIndex(container());
    const finished: RequestView[] = [];
    const ids = Array.from({ length: FINISHED_LIST_LIMIT + 20 }, (_, i) => requestId(new Date(NOW.getTime() - (i + 1) * 60_000)));
    for (const id of ids) {
      await index.opened(id, { operation: "earlyDisable", requester: "r", createdAt: NOW.toISOString() });
      await index.closed(id, { status: "rejected", at: NOW.toISOString() });
      finished.push(view(id, "rejected"));
    }
    const pending = requestId(new Date(NOW.getTime() - (REQUEST_LIST_DAYS - 1) * DAY));
    await index.opened(pending, { operation: "keyRecovery", requester: "r", createdAt: NOW.toISOString() });
    const hub = taskHub([...finished, view(pending, "pending")], 0);
    const listed = await listRequests(index, hub, NOW);
    expect(listed).toHaveLength(FINISHED_LIST_LIMIT + 1);
    expect(listed.slice(0, FINISHED_LIST_LIMIT).map((v) => v.request)).toEqual(ids.slice(0, FINISHED_LIST_LIMIT));
    expect(listed.at(-1)?.request).toBe(pending);
    expect(hub.read).toHaveLength(FINISHED_LIST_LIMIT + 1);
  }, 120_000);
});

describe("request index entries", () => {
  it("are write-once: a second write of the same entry is done, never replaces the first", async () => {
    const c = container();
    const index = blobRequestIndex(c);
    const id = requestId(NOW);
    await index.opened(id, { operation: "emergencyRotation", requester: "first", createdAt: NOW.toISOString() });
    await index.opened(id, { operation: "emergencyRotation", requester: "second", createdAt: NOW.toISOString() });
    await index.closed(id, { status: "expired", at: NOW.toISOString() });
    await index.closed(id, { status: "completed", at: NOW.toISOString() });
    const text = async (name: string): Promise<unknown> => JSON.parse((await c.getBlobClient(`requests/${id}/${name}`).downloadToBuffer()).toString("utf8"));
    expect(await text("opened.json")).toMatchObject({ request: id, requester: "first" });
    expect(await text("closed.json")).toMatchObject({ request: id, status: "expired" });
    expect(await index.list()).toEqual([{ request: id, createdAt: requestCreatedAt(id), closed: true }]);
  });

  it("refuse a name that is no request id, and the listing ignores foreign blobs under the prefix", async () => {
    const c = container();
    const index = blobRequestIndex(c);
    await expect(index.opened("../primary", { operation: "x", requester: "r", createdAt: "" })).rejects.toThrow(/\[BadParameter\].*not a request id/);
    await c.createIfNotExists();
    await c.getBlockBlobClient("requests/not-a-request/opened.json").upload("{}", 2);
    await c.getBlockBlobClient("primary.json").upload("{}", 2);
    expect(await index.list()).toEqual([]);
  });

  it("a final request step closes the entry; other steps do not", async () => {
    const c = container();
    const index = blobRequestIndex(c);
    const id = requestId(NOW);
    await index.opened(id, { operation: "emergencyRotation", requester: "r", createdAt: NOW.toISOString() });
    const data = (action: OperationRequestData["action"], status: OperationRequestData["status"]): OperationRequestData => ({
      request: id,
      operation: "emergencyRotation",
      action,
      status,
      instance: "primary",
      keyName: "k",
      requester: "r",
      principal: null,
      approvers: [],
      required: 1,
      reason: "policy",
      ticket: "CHG-1",
      message: null,
      at: NOW.toISOString(),
    });
    const deps = { requestIndex: index, now: () => NOW };
    const approved = await recordRequestStep({ data: data("approved", "approved"), seq: 1 }, deps);
    expect(approved.index).toBeUndefined();
    expect((await index.list())[0]?.closed).toBe(false);
    const completed = await recordRequestStep({ data: data("completed", "completed"), seq: 2 }, deps);
    expect(completed.index).toEqual({ closed: true });
    expect((await index.list())[0]?.closed).toBe(true);
    // Without an index (or with one that fails) the step still succeeds and says why the entry stays open.
    expect((await recordRequestStep({ data: data("failed", "failed"), seq: 3 }, { now: () => NOW })).index).toEqual({ closed: false, error: "no request index configured" });
  });
});
