import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LifecycleError } from "../../shared/errors";
import { loadSettings, redactSettings, rotationInstances } from "../../shared/config/settings";
import { settingsCatalog } from "../../shared/config/settingsCatalog";
import { ContainerClient } from "@azure/storage-blob";
import { appSettings, resetAppSettings, scheduleSetting } from "../../shared/app/appSettings";
import { lifecycleRowSinkFor } from "../../shared/lifecycleLog/lifecycleRowSink";
import { TEST_MANIFEST_KEY } from "../support/manifestKey";

const minimal = {
  HSMS: "primary=https://Contoso.managedhsm.azure.net/,dr=https://contoso-dr.managedhsm.azure.net",
  DRILL_PAIRS: "primary=dr",
  STORAGE_ACCOUNT_URL: "https://acct.blob.core.windows.net",
  LIFECYCLE_TOPIC_ENDPOINT: "https://topic.westeurope-1.eventgrid.azure.net/api/events",
  BACKUP_MANIFEST_KEY: TEST_MANIFEST_KEY,
};

function failure(env: Record<string, string>): LifecycleError {
  try {
    loadSettings(env);
  } catch (e) {
    expect(e).toBeInstanceOf(LifecycleError);
    return e as LifecycleError;
  }
  throw new Error("loadSettings accepted invalid settings");
}

describe("loadSettings", () => {
  it("duration settings suggest only forms they accept", () => {
    for (const key of ["RTO_TARGET", "RPO_TARGET", "ADMIN_JOB_TIMEOUT"]) {
      const message = failure({ ...minimal, [key]: "4 hours" }).message;
      expect(message).toContain(`${key} "4 hours" is not an ISO 8601 duration in days, hours, minutes or seconds; use e.g. PT4H, P1D or P1DT12H`);
      expect(message).not.toContain("P1Y");
      // Every example the message gives is accepted.
      const examples = /use e\.g\. (\S+), (\S+) or (\S+) \(/.exec(message)!.slice(1);
      for (const example of examples) expect(() => loadSettings({ ...minimal, [key]: example }), example).not.toThrow();
      expect(failure({ ...minimal, [key]: "P1Y" }).message).toContain("must not use years or months");
    }
  });

  it("applies documented defaults and normalises instance URLs", () => {
    const s = loadSettings(minimal);
    expect(s.hsms).toEqual([
      { name: "primary", kind: "managedHsm", url: "https://contoso.managedhsm.azure.net", role: "primary" },
      { name: "dr", kind: "managedHsm", url: "https://contoso-dr.managedhsm.azure.net", role: "drillTarget" },
    ]);
    expect(s.drillPairs).toEqual([
      { primary: "primary", target: "dr", primaryUrl: "https://contoso.managedhsm.azure.net", targetUrl: "https://contoso-dr.managedhsm.azure.net" },
    ]);
    expect(s.schedules).toEqual({ sweep: "0 0 1 * * *", backup: "0 0 2 * * *", drill: "0 0 4 * * 0" , reverify: "0 30 3 * * *" });
    expect(s.retention).toEqual({ daily: 7, weekly: 4, monthly: 12 });
    expect(s.objectives).toEqual({ rtoMs: 4 * 3_600_000, rpoMs: 26 * 3_600_000 });
    expect(s.pollerIntervalMs).toBe(2000);
    expect(s.adminJobTimeoutMs).toBe(2 * 3_600_000);
    expect(s.rotation).toEqual({ policyFile: "rotation-policy.json", batchSize: 50, createRate: { default: 1, byInstance: {} }, pacingContainer: "rotation-pacing" });
    expect(s.storage).toEqual({ accountUrl: "https://acct.blob.core.windows.net", backupContainer: "hsm-backups", backupAuth: "managedIdentity", manifestKey: TEST_MANIFEST_KEY, drillReportsContainer: "drill-reports", auditContainer: "lifecycle-audit" });
    expect(s.lifecycleTopic).toEqual({ endpoint: minimal.LIFECYCLE_TOPIC_ENDPOINT });
    expect(s.tlsCaFile).toBeUndefined();
    expect(Object.isFrozen(s.hsms[0])).toBe(true);
  });

  it("reads HSM_CREATE_RATE as a default and per-instance creations per second", () => {
    const s = loadSettings({ ...minimal, HSM_CREATE_RATE: "0.5, primary=3" });
    expect(s.rotation.createRate).toEqual({ default: 0.5, byInstance: { primary: 3 } });
    expect(loadSettings({ ...minimal, HSM_CREATE_RATE: "0" }).rotation.createRate).toEqual({ default: 0, byInstance: {} });
    expect(() => loadSettings({ ...minimal, HSM_CREATE_RATE: "primary=-1" })).toThrow(/HSM_CREATE_RATE the rate of "primary" "-1" must be a number of creations per second from 0 to 1000/);
  });

  it("rotates primaries and vaults, never a drill target", () => {
    const s = loadSettings({ ...minimal, VAULTS: "app=https://app-kv.vault.azure.net" });
    expect(rotationInstances(s).map((i) => `${i.name}:${i.kind}`)).toEqual(["primary:managedHsm", "app:vault"]);
  });

  it("accepts the emulator setup: loopback https ports, Azurite connection string, CA file, topic key", () => {
    const s = loadSettings({
      HSMS: "primary=https://127.0.0.1:8443,dr=https://127.0.0.1:8444",
      DRILL_PAIRS: "primary=dr",
      STORAGE_CONNECTION_STRING: "UseDevelopmentStorage=true",
      LIFECYCLE_TOPIC_ENDPOINT: "https://127.0.0.1:8446/api/events",
      LIFECYCLE_TOPIC_KEY: "topic-secret",
      HSM_TLS_CA_FILE: "/tmp/ca.pem",
      POLLER_INTERVAL_MS: "0",
      BACKUP_MANIFEST_KEY: TEST_MANIFEST_KEY,
    });
    expect(s.hsms.map((h) => h.url)).toEqual(["https://127.0.0.1:8443", "https://127.0.0.1:8444"]);
    expect(s.storage.connectionString).toBe("UseDevelopmentStorage=true");
    expect(s.pollerIntervalMs).toBe(0);
    expect(s.tlsCaFile).toBe("/tmp/ca.pem");
    const logged = JSON.stringify(redactSettings(s));
    expect(logged).not.toContain("topic-secret");
    expect(logged).not.toContain(TEST_MANIFEST_KEY);
    expect(logged).not.toContain("UseDevelopmentStorage");
  });

  it("lists every missing and invalid key in ONE error", () => {
    const e = failure({
      HSMS: "primary=http://hsm.example,bad name=https://x",
      VAULTS: "v=https://v.vault.azure.net/keys",
      ROTATION_BATCH_SIZE: "0",
      HSM_CREATE_RATE: "fast,nohsm=2",
      SWEEP_SCHEDULE: "0 0 2 * *",
      BACKUP_SCHEDULE: "0 0 25 * * *",
      RETENTION_DAILY: "seven",
      RPO_TARGET: "P1M",
      BACKUP_AUTH: "key",
      BACKUP_CONTAINER: "Backups",
      STORAGE_CONNECTION_STRING: "not-a-connection-string-SECRETVALUE",
    });
    expect(e.code).toBe("SettingsInvalid");
    expect(e.retryable).toBe(false);
    const expected = [
      'HSMS "primary" must use https',
      'HSMS entry name "bad name"',
      'VAULTS "v" must be the instance origin only',
      "ROTATION_BATCH_SIZE 0 is out of range; use 1..200.",
      'HSM_CREATE_RATE the default "fast" must be a number of creations per second',
      'HSM_CREATE_RATE names "nohsm", which is not in HSMS or VAULTS.',
      'SWEEP_SCHEDULE "0 0 2 * *" has 5 fields; NCRONTAB needs 6',
      'BACKUP_SCHEDULE "0 0 25 * * *" is not a valid NCRONTAB expression',
      'RETENTION_DAILY "seven" must be a whole number from 1 to 3650.',
      "RPO_TARGET the value must not use years or months",
      'BACKUP_AUTH "key" must be "managedIdentity" or "sas".',
      'BACKUP_CONTAINER "Backups" is not a valid container name',
      "STORAGE_CONNECTION_STRING is not a storage connection string",
      "LIFECYCLE_TOPIC_ENDPOINT is missing",
    ];
    for (const part of expected) expect(e.message).toContain(part);
    expect(e.message).toMatch(/^\[SettingsInvalid\] 14 app setting problems: /);
    expect(e.message).not.toContain("SECRETVALUE");
  });

  it("requires HSMS and a storage account", () => {
    const e = failure({ LIFECYCLE_TOPIC_ENDPOINT: minimal.LIFECYCLE_TOPIC_ENDPOINT });
    expect(e.message).toContain("HSMS is missing");
    expect(e.message).toContain("STORAGE_ACCOUNT_URL is missing (or set STORAGE_CONNECTION_STRING)");
  });

  it("refuses a drill target that is a primary under another name, or unknown, or paired with itself", () => {
    const same = failure({ ...minimal, HSMS: "primary=https://hsm.managedhsm.azure.net,dr=https://HSM.managedhsm.azure.net:443" });
    expect(same.message).toContain('drill target "dr" has the same URL as primary "primary" (https://hsm.managedhsm.azure.net); a drill would overwrite production keys.');
    const unknown = failure({ ...minimal, DRILL_PAIRS: "primary=nowhere" });
    expect(unknown.message).toContain('names "nowhere" as a drill target, but HSMS has no HSM of that name.');
    const self = failure({ ...minimal, DRILL_PAIRS: "primary=primary" });
    expect(self.message).toContain('pairs "primary" with itself');
  });

  it("refuses an instance configured twice or a name reused across HSMS and VAULTS", () => {
    const dup = failure({ ...minimal, VAULTS: "kv=https://contoso.managedhsm.azure.net" });
    expect(dup.message).toContain('lists https://contoso.managedhsm.azure.net twice ("primary" and "kv")');
    const reused = failure({ ...minimal, VAULTS: "primary=https://kv.vault.azure.net" });
    expect(reused.message).toContain('VAULTS reuses the name "primary"');
  });

  it("refuses URLs that carry a SAS or a query", () => {
    const e = failure({ ...minimal, BACKUP_COPY_CONTAINER_URL: "https://acct.blob.core.windows.net/immutable?sv=1&sig=abc" });
    expect(e.message).toContain("BACKUP_COPY_CONTAINER_URL must not carry a query string or credentials");
    expect(e.message).not.toContain("sig=abc");
  });

  it("reads HSM_RESOURCE_IDS per HSM name and refuses ids of other resources or unknown names", () => {
    const id = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/managedHSMs/contoso-dr";
    expect(loadSettings({ ...minimal, HSM_RESOURCE_IDS: `dr=${id}` }).hsmResourceIds).toEqual({ dr: id });
    const e = failure({ ...minimal, HSM_RESOURCE_IDS: "dr=/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v,other=" + id });
    expect(e.message).toContain('HSM_RESOURCE_IDS "dr" has');
    expect(e.message).toContain('HSM_RESOURCE_IDS names "other", which is not an HSM in HSMS');
  });

  it("HSM_EMULATOR is off by default and accepts only true/false", () => {
    expect(loadSettings(minimal).emulatorMode).toBe(false);
    expect(failure({ ...minimal, HSM_EMULATOR: "yes" }).message).toContain('HSM_EMULATOR "yes" must be "true" or "false"');
    expect(loadSettings({ ...minimal, HSMS: "primary=https://127.0.0.1:8443,dr=https://localhost:8444", HSM_EMULATOR: "true" }).emulatorMode).toBe(true);
  });

  it("treats blank values as unset (defaults apply)", () => {
    const s = loadSettings({ ...minimal, SWEEP_SCHEDULE: "  ", VAULTS: "" });
    expect(s.schedules.sweep).toBe("0 0 1 * * *");
    expect(s.vaults).toEqual([]);
  });
});

describe("local.settings.sample.json", () => {
  const sample = JSON.parse(readFileSync(join(__dirname, "..", "..", "local.settings.sample.json"), "utf8")) as { Values: Record<string, string> };

  it("holds the Functions basics and every documented key, and nothing undocumented", () => {
    expect(sample.Values.AzureWebJobsStorage).toBe("UseDevelopmentStorage=true");
    expect(sample.Values.FUNCTIONS_WORKER_RUNTIME).toBe("node");
    const ours = Object.keys(sample.Values).filter((k) => k !== "AzureWebJobsStorage" && k !== "FUNCTIONS_WORKER_RUNTIME");
    expect(ours.sort()).toEqual(settingsCatalog.map((s) => s.key).sort());
  });

  it("loads without errors", () => {
    expect(() => loadSettings(sample.Values)).not.toThrow();
  });
});

describe("scheduleSetting (timer registration)", () => {
  it("reports a bad schedule together with every other bad key in one error", () => {
    const env = { ...minimal, SWEEP_SCHEDULE: "0 0 2 * *", RETENTION_DAILY: "seven", LIFECYCLE_TOPIC_ENDPOINT: "" };
    let error: unknown;
    try {
      scheduleSetting("sweep", env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LifecycleError);
    const message = (error as LifecycleError).message;
    expect(message).toContain("3 app setting problems");
    for (const part of ['SWEEP_SCHEDULE "0 0 2 * *" has 5 fields', 'RETENTION_DAILY "seven"', "LIFECYCLE_TOPIC_ENDPOINT is missing"]) expect(message).toContain(part);
  });

  it("returns a good schedule even when an unrelated setting is bad", () => {
    expect(scheduleSetting("backup", { BACKUP_SCHEDULE: "0 30 3 * * *", RETENTION_DAILY: "seven" })).toBe("0 30 3 * * *");
  });
});

describe("LIFECYCLE_LOG_* (where the HsmLifecycle_CL rows go)", () => {
  const rule = "dcr-0123456789abcdef0123456789abcdef";
  it("absent: the local row store; set: the data collection endpoint and rule, sent through LogsIngestionClient", () => {
    expect(loadSettings(minimal).lifecycleLog).toBeUndefined();
    expect(loadSettings({ ...minimal, LIFECYCLE_LOG_ENDPOINT: "https://dce-x.westeurope-1.ingest.monitor.azure.com", LIFECYCLE_LOG_RULE_ID: rule, LIFECYCLE_LOG_IDENTITY_CLIENT_ID: "11111111-2222-3333-4444-555555555555" }).lifecycleLog).toEqual({
      endpoint: "https://dce-x.westeurope-1.ingest.monitor.azure.com",
      ruleId: rule,
      identityClientId: "11111111-2222-3333-4444-555555555555",
    });
    const container = new ContainerClient("https://acct.blob.core.windows.net/audit");
    const saved = { ...process.env };
    try {
      Object.assign(process.env, minimal, { LIFECYCLE_LOG_ENDPOINT: "https://dce-x.westeurope-1.ingest.monitor.azure.com", LIFECYCLE_LOG_RULE_ID: rule });
      resetAppSettings();
      appSettings();
      expect(lifecycleRowSinkFor(container).kind).toBe("logsIngestion");
      resetAppSettings();
      expect(lifecycleRowSinkFor(container).kind).toBe("blob");
    } finally {
      process.env = saved;
      resetAppSettings();
    }
  });

  it("one without the other, a bad rule id or a URL with a query is refused, naming the setting", () => {
    expect(failure({ ...minimal, LIFECYCLE_LOG_ENDPOINT: "https://dce-x.westeurope-1.ingest.monitor.azure.com" }).message).toContain("LIFECYCLE_LOG_RULE_ID");
    expect(failure({ ...minimal, LIFECYCLE_LOG_RULE_ID: rule }).message).toContain("LIFECYCLE_LOG_ENDPOINT");
    expect(failure({ ...minimal, LIFECYCLE_LOG_ENDPOINT: "https://dce-x.ingest.monitor.azure.com", LIFECYCLE_LOG_RULE_ID: "my-rule" }).message).toContain("is not a data collection rule's immutable id");
    expect(failure({ ...minimal, LIFECYCLE_LOG_ENDPOINT: "https://dce-x.ingest.monitor.azure.com?sig=x", LIFECYCLE_LOG_RULE_ID: rule }).message).toContain("LIFECYCLE_LOG_ENDPOINT");
  });
});
