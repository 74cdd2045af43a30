/**
 * The singleton start's decisions a real backend makes rarely: a start the Azure Storage backend accepted
 * although another execution holds the lock, a lock released between a refused start and the status read,
 * and run ids that never reuse an existing instance. The client is our own two-method interface.
 */
import { describe, expect, it } from "vitest";
import { startExclusive, type ExclusiveStartClient } from "../../shared/app/startExclusive";
import { unusedRunId } from "../../shared/app/runIds";

type Status = { runtimeStatus: string; customStatus?: unknown; input?: unknown };
const notFound = (id: string): Error => new Error(`DurableClient error: Durable Functions extension replied with HTTP 404 response. ${id}`);

function fakeClient(statuses: Map<string, Status>, onStart: (id: string, input: unknown) => void): ExclusiveStartClient {
  return {
    getStatus: async (id) => {
      const s = statuses.get(id);
      if (s === undefined) throw notFound(id);
      return s;
    },
    startNew: async (_name, { instanceId, input }) => {
      onStart(instanceId, input);
      return instanceId;
    },
  };
}

const run = { name: "restoreDrill", instanceId: "drill:primary:dr:full:20261206T140000.000Z", input: {} };

describe("startExclusive", () => {
  it("a start the backend accepted while another execution holds the lock is a loss that names the holder", async () => {
    const statuses = new Map<string, Status>();
    const client = fakeClient(statuses, (id) => {
      // Azure Storage's check-then-write race: both starts accepted, the worker runs the other one.
      statuses.set(id, { runtimeStatus: "Running", customStatus: { running: "drill:primary:dr:full:20261206T135959.999Z" } });
      statuses.set("drill:primary:dr:full:20261206T135959.999Z", { runtimeStatus: "Running" });
    });
    expect(await startExclusive(client, "exclusive:drill:dr", run, { pollMs: 1 })).toEqual({ started: false, instanceId: "drill:primary:dr:full:20261206T135959.999Z", runtimeStatus: "Running" });
  });

  it("a start accepted and confirmed by the lock's own custom status is a win", async () => {
    const statuses = new Map<string, Status>();
    const client = fakeClient(statuses, (id, input) => {
      statuses.set(id, { runtimeStatus: "Running", customStatus: { running: (input as { instanceId: string }).instanceId } });
      statuses.set(run.instanceId, { runtimeStatus: "Pending" });
    });
    expect(await startExclusive(client, "exclusive:drill:dr", run, { pollMs: 1 })).toEqual({ started: true, instanceId: run.instanceId });
  });

  it("a lock released between a refused start and the status read is taken on the next try", async () => {
    const statuses = new Map<string, Status>([["exclusive:drill:dr", { runtimeStatus: "Completed", customStatus: { running: "drill:old" } }]]);
    let tries = 0;
    const client = fakeClient(statuses, (id, input) => {
      tries++;
      if (tries === 1) throw new Error("The operation failed with an unexpected status code: 409. Details: already exists");
      statuses.set(id, { runtimeStatus: "Running", customStatus: { running: (input as { instanceId: string }).instanceId } });
      statuses.set(run.instanceId, { runtimeStatus: "Running" });
    });
    expect(await startExclusive(client, "exclusive:drill:dr", run, { pollMs: 1 })).toEqual({ started: true, instanceId: run.instanceId });
    expect(tries).toBe(2);
  });

  it("any other start error is thrown, not taken for a conflict", async () => {
    const client = fakeClient(new Map(), () => {
      throw new Error("The operation failed with an unexpected status code: 500.");
    });
    await expect(startExclusive(client, "exclusive:drill:dr", run, { pollMs: 1 })).rejects.toThrow("500");
  });
});

describe("unusedRunId", () => {
  it("steps past ids that exist in any state, so a finished run is never replaced", async () => {
    const statuses = new Map<string, Status>([
      ["drill:p:dr:full:X", { runtimeStatus: "Completed" }],
      ["drill:p:dr:full:X-2", { runtimeStatus: "Failed" }],
    ]);
    const client = fakeClient(statuses, () => undefined);
    expect(await unusedRunId(client, "drill:p:dr:full:X")).toBe("drill:p:dr:full:X-3");
    expect(await unusedRunId(client, "drill:p:dr:full:Y")).toBe("drill:p:dr:full:Y");
  });
});
