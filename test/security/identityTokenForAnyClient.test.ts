/**
 * Attack: code running with the local stack's identity secret (IDENTITY_HEADER, as any function of the app has)
 * asks the emulator's managed identity endpoint for a token of the ADMINISTRATOR (or of any principal that holds
 * roles) by naming its id. Before, the endpoint minted a token for any GUID, so least-privilege tests proved
 * nothing. Now only identities attached at start get tokens; the refusal is the platform's 400 and is logged.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawHttpsRequest, spawnEmulatorProcess, type EmulatorProcess } from "../support/emulator";

const ADMIN = "0b5e0a4b-7d2f-4e61-9a3b-0f6d2c8e1a00";
const ROTATION = "0b5e0a4b-7d2f-4e61-9a3b-0f6d2c8e1a01";

function getJson(url: string, headers: Record<string, string>): Promise<{ status: number; body: any }> {
  return new Promise((resolvePromise, reject) => {
    const req = httpRequest(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolvePromise({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("the identity endpoint cannot be made to mint someone else's token", () => {
  const dir = mkdtempSync(join(tmpdir(), "sec-identity-"));
  let emu: EmulatorProcess;
  let endpoint: string;
  let secret: string;

  beforeAll(async () => {
    emu = await spawnEmulatorProcess(["--state-dir", dir, "--hsm", "primary=0", "--admin", ADMIN, "--identity", "0", "--managed-identity", ROTATION]);
    endpoint = emu.ready.identity?.endpoint ?? "";
    secret = readFileSync(join(dir, "identity-header"), "utf8").trim();
  });
  afterAll(async () => {
    emu?.kill("SIGTERM");
    await emu?.exited;
    rmSync(dir, { recursive: true, force: true });
  });

  it("asking for the administrator's token by client_id, object_id or over the older protocol is refused and logged", async () => {
    const resource = "resource=https%3A%2F%2Fmanagedhsm.azure.net";
    const attempts = [
      await getJson(`${endpoint}?api-version=2019-08-01&${resource}&client_id=${ADMIN}`, { "x-identity-header": secret }),
      await getJson(`${endpoint}?api-version=2019-08-01&${resource}&object_id=${ADMIN}`, { "x-identity-header": secret }),
      await getJson(`${endpoint}?api-version=2017-09-01&${resource}&clientid=${ADMIN}`, { secret }),
      // No id at all: there is no system-assigned identity to fall back on.
      await getJson(`${endpoint}?api-version=2019-08-01&${resource}`, { "x-identity-header": secret }),
    ];
    for (const answer of attempts) {
      expect(answer.status).toBe(400);
      expect(answer.body.access_token).toBeUndefined();
    }
    expect(emu.stderr()).toMatch(new RegExp(`identity: request refused \\(400\\): Unable to load the proper Managed Identity: ${ADMIN} is not an identity of this app`));
    expect(emu.stderr()).not.toContain(secret);
  });

  it("the attached identity gets its own token, which cannot do the administrator's work", async () => {
    const answer = await getJson(`${endpoint}?api-version=2019-08-01&resource=https%3A%2F%2Fmanagedhsm.azure.net&client_id=${ROTATION}`, { "x-identity-header": secret });
    expect(answer.status).toBe(200);
    const token = answer.body.access_token as string;
    const ca = readFileSync(emu.ready.caFile, "utf8");
    const url = emu.ready.instances["primary"]?.url ?? "";
    const assign = await rawHttpsRequest(ca, `${url}/providers/Microsoft.Authorization/roleAssignments/${ROTATION}?api-version=7.6`, "PUT", {
      headers: { authorization: `Bearer ${token}` },
      body: { properties: { roleDefinitionId: "/providers/Microsoft.Authorization/roleDefinitions/a290e904-7015-4bba-90c8-60543313cdb4", principalId: ROTATION } },
    });
    expect(assign.status).toBe(403);
    expect(assign.body.error.code).toBe("Forbidden");
  });
});
