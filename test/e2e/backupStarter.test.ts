/**
 * The nightly starter's decisions that the e2e runs cannot provoke on demand: a start race lost to another
 * trigger, and a durable status error that must not be mistaken for "never started". The client here is
 * our own two-method interface (not an Azure SDK client); the runner-backed path is in backupNightly.test.ts.
 */
import { describe, expect, it } from "vitest";
import { startNightlyBackups, nightlyBackupInputs, type BackupStarterClient } from "../../shared/backup/nightlyBackup";
import { loadSettings } from "../../shared/config/settings";
import { TEST_MANIFEST_KEY } from "../support/manifestKey";

const settings = loadSettings({
  HSMS: "primary=https://primary.managedhsm.azure.net,dr=https://dr.managedhsm.azure.net,second=https://second.managedhsm.azure.net",
  DRILL_PAIRS: "primary=dr",
  STORAGE_ACCOUNT_URL: "https://acct.blob.core.windows.net",
  LIFECYCLE_TOPIC_ENDPOINT: "https://topic.westeurope-1.eventgrid.azure.net/api/events",
  BACKUP_MANIFEST_KEY: TEST_MANIFEST_KEY,
});
const night = new Date("2026-11-24T02:00:00Z");
const notFound = (id: string): Error => new Error(`DurableClient error: Durable Functions extension replied with HTTP 404 response. ... ${id}`);

describe("nightly backup starter", () => {
  it("builds one input per primary HSM (never the drill target) with the night in the instance id", () => {
    const inputs = nightlyBackupInputs(settings, night);
    expect(inputs.map((i) => [i.hsmName, i.night, i.scheduledFor])).toEqual([
      ["primary", "2026-11-24", "2026-11-24T02:00:00.000Z"],
      ["second", "2026-11-24", "2026-11-24T02:00:00.000Z"],
    ]);
    expect(inputs[0]).toMatchObject({ pollIntervalMs: 2000, jobTimeoutMs: 2 * 3_600_000, copy: false, retention: { daily: 7, weekly: 4, monthly: 12 } });
  });

  it("treats a start race lost to another trigger as already started", async () => {
    const statuses = new Map<string, string>();
    const client: BackupStarterClient = {
      getStatus: async (id) => {
        const s = statuses.get(id);
        if (s === undefined) throw notFound(id);
        return { runtimeStatus: s };
      },
      startNew: async (_name, { instanceId }) => {
        statuses.set(instanceId, "Running"); // the other trigger won
        throw new Error("409 an instance with this id is already running");
      },
    };
    const decisions = await startNightlyBackups(client, nightlyBackupInputs(settings, night).slice(0, 1));
    expect(decisions).toEqual([{ hsmName: "primary", instanceId: "backup:primary:2026-11-24", action: "skipped", reason: "another trigger started backup:primary:2026-11-24 first (Running)" }]);
  });

  it("starts a night again after a Failed run, and fails loudly when the status cannot be read", async () => {
    const started: string[] = [];
    const client: BackupStarterClient = {
      getStatus: async (id) => (id.startsWith("backup:primary:") ? { runtimeStatus: "Failed" } : Promise.reject(new Error("HTTP 500 from the durable extension"))),
      startNew: async (_name, { instanceId }) => {
        started.push(instanceId);
        return instanceId;
      },
    };
    await expect(startNightlyBackups(client, nightlyBackupInputs(settings, night))).rejects.toThrow("HTTP 500");
    expect(started).toEqual(["backup:primary:2026-11-24"]);
  });
});
