/**
 * Attack (or accident): the drill restores the primary's backup into whatever HSM the settings call the DR
 * HSM. If the interlock compares only names, then swapped HSMS URLs (the "dr" URL is really production) or a
 * production HSM that is not listed at all pass, and the restore overwrites production keys.
 *
 * The interlock now identifies every HSM of the drill from a source the HSM cannot fake and requires each to be
 * what the settings call it:
 * - emulator mode (local stack): the emulator's self-report on loopback — a real emulator and the app's own
 *   composition root (`createDrillDeps`), no stubs;
 * - Azure: Azure Resource Manager (`properties.hsmUri`, the `hsm-lifecycle-role=drill-target` tag). The emulator
 *   serves no ARM, so a local HTTPS server answers the real `Microsoft.KeyVault/managedHSMs` GET shape for a
 *   primary, its DR HSM and an unlisted production HSM, and the app's own ARM reader reads it.
 * Each wrong configuration is refused by `checkDrillSafety` before any write, with the reason logged.
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { AccessToken, TokenCredential } from "@azure/core-auth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSettings } from "../../shared/config/settings";
import { armHsmIdentityReader } from "../../shared/drill/armHsmIdentityReader";
import { checkDrillSafety, type CheckDrillSafetyOutput } from "../../shared/drill/activities/checkSafety";
import type { DrillDeps } from "../../shared/drill/activities/deps";
import { createDrillDeps } from "../../shared/drill/activities/depsFromSettings";
import { startTestEmulator, type TestEmulator } from "../support/emulator";
import { TEST_MANIFEST_KEY } from "../support/manifestKey";

let emu: TestEmulator;
let arm: Server;
let armUrl: string;
const armRequests: string[] = [];

const SUB = "/subscriptions/00000000-0000-0000-0000-0000000000aa/resourceGroups/bank-hsm/providers/Microsoft.KeyVault/managedHSMs";
const azure = {
  primary: { id: `${SUB}/contoso-prod`, url: "https://contoso-prod.managedhsm.azure.net", tags: { "hsm-lifecycle-role": "primary" } },
  dr: { id: `${SUB}/contoso-dr`, url: "https://contoso-dr.managedhsm.azure.net", tags: { "hsm-lifecycle-role": "drill-target" } },
  prod2: { id: `${SUB}/contoso-payments`, url: "https://contoso-payments.managedhsm.azure.net", tags: {} },
};

const credential: TokenCredential = {
  getToken: async (): Promise<AccessToken> => ({ token: "arm-token", expiresOnTimestamp: Date.now() + 3_600_000 }),
};

const env = (extra: Record<string, string>): NodeJS.ProcessEnv => ({
  STORAGE_CONNECTION_STRING: "UseDevelopmentStorage=true",
  LIFECYCLE_TOPIC_ENDPOINT: "https://127.0.0.1:1/api/events",
  BACKUP_MANIFEST_KEY: TEST_MANIFEST_KEY,
  HSM_TLS_CA_FILE: join(emu.stateDir, "ca.pem"),
  DRILL_PAIRS: "primary=dr",
  ...extra,
});

function verdictText(v: CheckDrillSafetyOutput): string {
  return v.kind === "refused" ? v.reason : `safe: target reports ${v.targetIdentity.name}`;
}

beforeAll(async () => {
  emu = await startTestEmulator({ hsms: ["primary", { name: "dr", securityDomain: "primary" }, "payments"] });
  const tls = join(emu.stateDir, "tls");
  arm = createServer({ cert: readFileSync(join(tls, "server.pem"), "utf8"), key: readFileSync(join(tls, "server-key.pem"), "utf8") }, (req, res) => {
    armRequests.push(`${req.method} ${req.url}`);
    const path = new URL(req.url ?? "/", "https://arm").pathname;
    const hsm = Object.values(azure).find((h) => h.id.toLowerCase() === path.toLowerCase());
    if (req.headers.authorization !== "Bearer arm-token" || hsm === undefined) {
      res.writeHead(hsm === undefined ? 404 : 401, { "content-type": "application/json" }).end(JSON.stringify({ error: { code: "ResourceNotFound", message: "not found" } }));
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end(
      JSON.stringify({
        id: hsm.id,
        name: hsm.id.split("/").pop(),
        type: "Microsoft.KeyVault/managedHSMs",
        location: "westeurope",
        tags: hsm.tags,
        sku: { family: "B", name: "Standard_B1" },
        properties: { tenantId: "00000000-0000-0000-0000-0000000000bb", hsmUri: `${hsm.url}/`, provisioningState: "Succeeded", securityDomainProperties: { activationStatus: "Active" } },
      }),
    );
  });
  await new Promise<void>((resolve) => arm.listen(0, "127.0.0.1", () => resolve()));
  armUrl = `https://127.0.0.1:${(arm.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  await new Promise<void>((resolve) => arm?.close(() => resolve()));
  await emu?.close();
});

describe("emulator mode: the interlock trusts what each HSM is, not what it is called", () => {
  const check = async (hsms: string): Promise<CheckDrillSafetyOutput> => {
    const deps = createDrillDeps(loadSettings(env({ HSMS: hsms, HSM_EMULATOR: "true" })), emu.credential());
    return checkDrillSafety({ primary: "primary", target: "dr" }, deps);
  };

  it("control: the right configuration passes", async () => {
    const v = await check(`primary=${emu.url("primary")},dr=${emu.url("dr")}`);
    expect(verdictText(v)).toBe("safe: target reports dr");
  });

  it("swapped HSMS URLs are refused", async () => {
    const v = await check(`primary=${emu.url("dr")},dr=${emu.url("primary")}`);
    console.info(`swapped (emulator): ${verdictText(v)}`);
    expect(v.kind).toBe("refused");
    expect(verdictText(v)).toMatch(/the drill target "dr" \(\S+\) reports itself as "primary"/);
    expect(verdictText(v)).toMatch(/primary "primary" \(\S+\) reports itself as "dr"/);
  });

  it("a production HSM that is not listed, configured as the drill target, is refused", async () => {
    const v = await check(`primary=${emu.url("primary")},dr=${emu.url("payments")}`);
    console.info(`unlisted production HSM (emulator): ${verdictText(v)}`);
    expect(v.kind).toBe("refused");
    expect(verdictText(v)).toMatch(/the drill target "dr" \(\S+\) reports itself as "payments"/);
  });
});

describe("Azure: identities from Azure Resource Manager", () => {
  const check = async (hsms: Record<string, { url: string; id?: string }>): Promise<CheckDrillSafetyOutput> => {
    const settings = loadSettings(
      env({
        HSMS: Object.entries(hsms).map(([n, h]) => `${n}=${h.url}`).join(","),
        HSM_RESOURCE_IDS: Object.entries(hsms).flatMap(([n, h]) => (h.id === undefined ? [] : [`${n}=${h.id}`])).join(","),
      }),
    );
    const identityOf = armHsmIdentityReader({ resourceIds: settings.hsmResourceIds, credential, endpoint: armUrl, tlsOptions: { ca: emu.ca }, retryOptions: { maxRetries: 0 } });
    return checkDrillSafety({ primary: "primary", target: "dr" }, { settings, identityOf } as unknown as DrillDeps);
  };

  it("control: the DR HSM tagged drill-target, each URL its resource's hsmUri: passes", async () => {
    armRequests.length = 0;
    const v = await check({ primary: azure.primary, dr: azure.dr });
    expect(verdictText(v)).toBe("safe: target reports contoso-dr");
    expect(armRequests.sort()).toEqual([`GET ${azure.dr.id}?api-version=2023-07-01`, `GET ${azure.primary.id}?api-version=2023-07-01`].sort());
  });

  it("swapped HSMS URLs are refused (ARM names another URL for each resource)", async () => {
    const v = await check({ primary: { url: azure.dr.url, id: azure.primary.id }, dr: { url: azure.primary.url, id: azure.dr.id } });
    console.info(`swapped URLs (ARM): ${verdictText(v)}`);
    expect(v.kind).toBe("refused");
    expect(verdictText(v)).toMatch(/the drill target "dr" is configured as https:\/\/contoso-prod\.managedhsm\.azure\.net, but its ARM resource \S+contoso-dr has hsmUri/);
  });

  it("swapped URLs AND resource ids are refused (the production resource is not tagged drill-target)", async () => {
    const v = await check({ primary: azure.dr, dr: azure.primary });
    console.info(`swapped URLs and ids (ARM): ${verdictText(v)}`);
    expect(v.kind).toBe("refused");
    expect(verdictText(v)).toMatch(/the drill target "dr" \(ARM resource \S+contoso-prod\) is not tagged hsm-lifecycle-role=drill-target/);
    expect(verdictText(v)).toMatch(/primary "primary" \(ARM resource \S+contoso-dr\) is tagged hsm-lifecycle-role=drill-target/);
  });

  it("an unlisted production HSM configured as the drill target is refused", async () => {
    const v = await check({ primary: azure.primary, dr: azure.prod2 });
    console.info(`unlisted production HSM (ARM): ${verdictText(v)}`);
    expect(v.kind).toBe("refused");
    expect(verdictText(v)).toMatch(/the drill target "dr" \(ARM resource \S+contoso-payments\) is not tagged hsm-lifecycle-role=drill-target/);
    // …and with the DR HSM's resource id but the production URL, ARM's hsmUri gives it away.
    const lying = await check({ primary: azure.primary, dr: { url: azure.prod2.url, id: azure.dr.id } });
    expect(verdictText(lying)).toMatch(/configured as https:\/\/contoso-payments\.managedhsm\.azure\.net, but its ARM resource \S+contoso-dr has hsmUri/);
  });

  it("without an ARM resource id for the target the drill cannot prove anything and refuses", async () => {
    const v = await check({ primary: azure.primary, dr: { url: azure.dr.url } });
    console.info(`no resource id (ARM): ${verdictText(v)}`);
    expect(verdictText(v)).toMatch(/could not read the identity of the target .*HSM_RESOURCE_IDS has no ARM resource id for "dr"/);
  });
});
