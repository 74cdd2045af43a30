import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { AzureKeyCredential } from "@azure/eventgrid";
import { KeyClient } from "@azure/keyvault-keys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeliveryEngine } from "../../emulator/eventgrid/deliveryEngine";
import { eventGridEngineOf, eventGridPlugin } from "../../emulator/eventgrid/eventGridPlugin";
import { topicResourceId, vaultResourceId } from "../../emulator/eventgrid/resourceIds";
import { startEmulator, type RunningEmulator } from "../../emulator/server";
import { startRunner, type Runner } from "../../runner/startRunner";
import { parseIncomingEvents } from "../../shared/events/incomingEvent";
import { createLifecyclePublisher } from "../../shared/events/lifecyclePublisher";
import { KeyVaultEventType, LifecycleEventType } from "../../shared/events/lifecycleEventTypes";
import { lifecycleSamples } from "../support/lifecycleEventSamples";

/**
 * Emulator topic / vault → Event Grid delivery → the runner's Event Grid webhook → an eventGrid function that
 * validates with parseIncomingEvents and dedupes on `dedupeKey`. The function body is a test global so the
 * app file needs nothing but @azure/functions.
 */
interface Seen {
  invocations: number;
  rejected: string[];
  stateChanges: string[];
}
const seen: Seen = { invocations: 0, rejected: [], stateChanges: [] };
const applied = new Set<string>();

let dir: string;
let emu: RunningEmulator;
let engine: DeliveryEngine;
let runner: Runner;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "eventgrid-runner-"));
  emu = await startEmulator({
    stateDir: path.join(dir, "emulator"),
    instances: [{ kind: "vault", name: "kv3", port: 0 }],
    topics: [{ name: "lifecycle", port: 0 }],
    admins: ["dev"],
    plugins: [eventGridPlugin({ policy: { maxAttempts: 3, initialDelayMs: 20, maxDelayMs: 100, validationAttempts: 3 }, sweepIntervalMs: 50 })],
    log: () => undefined,
  });
  engine = eventGridEngineOf(emu)!;

  const policy = { allowedSources: [vaultResourceId("kv3"), topicResourceId("lifecycle")], allowedTypes: [KeyVaultEventType.KeyNearExpiry] };
  (globalThis as Record<string, unknown>)["__eventgridRunnerTestHandler"] = async (event: unknown): Promise<void> => {
    seen.invocations++;
    for (const result of await parseIncomingEvents(event, policy)) {
      if (result.kind === "rejected") seen.rejected.push(result.reason);
      else if (!applied.has(result.event.dedupeKey)) {
        applied.add(result.event.dedupeKey);
        seen.stateChanges.push(result.event.dedupeKey);
      }
    }
  };
  const appDir = path.join(dir, "app");
  const functionsModule = require.resolve("@azure/functions");
  mkdirSync(appDir);
  writeFileSync(path.join(appDir, "package.json"), JSON.stringify({ name: "eventgrid-runner-test-app", main: "index.js" }));
  writeFileSync(
    path.join(appDir, "index.js"),
    `const { app } = require(${JSON.stringify(functionsModule)});
app.eventGrid("onKeyEvent", { handler: (event, context) => globalThis.__eventgridRunnerTestHandler(event, context) });
`,
  );
  runner = await startRunner({ appDir, port: 0, log: false });
});

afterAll(async () => {
  await emu?.close();
  await runner?.close();
  delete (globalThis as Record<string, unknown>)["__eventgridRunnerTestHandler"];
  rmSync(dir, { recursive: true, force: true });
});

describe("Event Grid → runner webhook → eventGrid function", () => {
  it("handshakes with the runner, then a vault KeyNearExpiry delivered three times changes state once", async () => {
    const endpoint = `${runner.url}/runtime/webhooks/EventGrid?functionName=onKeyEvent`;
    engine.addSubscription({ name: "kv3-remediate", source: "kv3", endpoint, includedEventTypes: [KeyVaultEventType.KeyNearExpiry], duplicates: 2 });
    expect(await engine.whenValidated("kv3-remediate")).toBe(true);

    const keys = new KeyClient(emu.instances["kv3"]!.url, emu.credential("dev"), { tlsOptions: { ca: emu.caPem }, disableChallengeResourceVerification: true });
    const key = await keys.createRsaKey("cmk", { expiresOn: new Date(Date.now() + 10 * 86_400_000) });
    const deadline = Date.now() + 15_000;
    while (seen.invocations < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await engine.idle();

    expect(seen.invocations).toBe(3);
    expect(seen.stateChanges).toEqual([`microsoft.keyvault.keynearexpiry|kv3|cmk|${key.properties.version}`]);
    expect(engine.deliveries().filter((d) => d.subscription === "kv3-remediate").every((d) => d.status === 202)).toBe(true);
  });

  it("carries a synthesised HSM KeyNearExpiry from our publisher through the topic to the function", async () => {
    engine.addSubscription({ name: "lifecycle-remediate", source: "lifecycle", endpoint: `${runner.url}/runtime/webhooks/EventGrid?functionName=onKeyEvent`, includedEventTypes: [KeyVaultEventType.KeyNearExpiry] });
    expect(await engine.whenValidated("lifecycle-remediate")).toBe(true);
    const topic = emu.readyLine().instances["lifecycle"] as unknown as Record<string, string>;
    const publisher = createLifecyclePublisher({
      endpoint: topic["endpoint"]!,
      credential: new AzureKeyCredential(readFileSync(topic["keyFile"]!, "utf8").trim()),
      clientOptions: { tlsOptions: { ca: emu.caPem } },
    });
    const before = seen.stateChanges.length;
    expect(await publisher.publish({ type: LifecycleEventType.KeyNearExpiry, data: lifecycleSamples[LifecycleEventType.KeyNearExpiry] })).toMatchObject({ kind: "published" });
    const deadline = Date.now() + 15_000;
    while (seen.stateChanges.length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(seen.stateChanges.at(-1)).toBe("microsoft.keyvault.keynearexpiry|primary|payments-cmk|0123456789abcdef0123456789abcdef");
  });

  it("runs the function for a forged post straight to the webhook, which rejects it and changes nothing", async () => {
    const before = { changes: seen.stateChanges.length, rejected: seen.rejected.length };
    const forged = [{
      id: "forged-1",
      topic: vaultResourceId("someone-elses-vault"),
      subject: "cmk",
      eventType: KeyVaultEventType.KeyNearExpiry,
      eventTime: new Date().toISOString(),
      data: { Id: "https://attacker.example/keys/cmk/0123456789abcdef0123456789abcdef", VaultName: "someone-elses-vault", ObjectType: "Key", ObjectName: "cmk", Version: "0123456789abcdef0123456789abcdef", NBF: null, EXP: null },
      dataVersion: "1",
      metadataVersion: "1",
    }];
    const response = await fetch(`${runner.url}/runtime/webhooks/EventGrid?functionName=onKeyEvent`, {
      method: "POST",
      headers: { "content-type": "application/json", "aeg-event-type": "Notification" },
      body: JSON.stringify(forged),
    });
    expect(response.status).toBe(202);
    expect(seen.stateChanges).toHaveLength(before.changes);
    expect(seen.rejected.slice(before.rejected)).toEqual([`foreign source "${vaultResourceId("someone-elses-vault")}": it is not one of the configured topics/vaults`]);
  });
});
