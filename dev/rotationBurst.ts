/**
 * A burst of HSM key events through the whole local stack, for the burst test and `bench/rotationBurst.ts`:
 * seed due keys on `primary` (policy already set, as after a key's first rotation), then publish one
 * KeyNearExpiry per key to the lifecycle topic — the emulator's Event Grid delivers it to the runner's webhook,
 * the remediation trigger starts `rotate:{hsm}:{key}:{version}`, the rotation waits for its creation slot —
 * and read back what happened: rotations per key, failures, the HSM's creates from its audit log.
 *
 *   const stack = await startLocalStack({ …, emulatorArgs: capacityArgs({ partitions: 1, timeScale: 5 }), settingsOverrides: { HSM_CREATE_RATE: "5" } });
 *   const keys = await seedDueKeys(stack, 50);
 *   const t0 = Date.now(); await publishNearExpiry(stack, keys); const out = await awaitRotations(stack, keys);
 */
import { KeyClient } from "@azure/keyvault-keys";
import { createLifecyclePublisher } from "../shared/events/lifecyclePublisher";
import { AzureKeyCredential } from "@azure/core-auth";
import { LifecycleEventType } from "../shared/events/lifecycleEventTypes";
import { noticeEventId, rotationInstanceId } from "../shared/rotation/rotationIds";
import type { RotateKeyOutput } from "../shared/rotation/types";
import type { LocalStack } from "./localStack";

const DAY = 86_400_000;

/** The rotation policy the burst needs: `primary` keys rotate 30 days before expiry, new versions live 180 days. */
export const burstPolicyText = JSON.stringify({
  version: 1,
  defaults: { gracePeriod: "P7D" },
  rules: [{ name: "hsm-keys", instances: ["primary"], rotateBeforeExpiry: "P30D", newVersionExpiry: "P180D" }],
});

export interface BurstKey {
  name: string;
  version: string;
  keyId: string;
  expiresOn: Date;
  instanceId: string;
}

/** Emulator flags of the capacity model (`--capacity --partitions N --time-scale N [--queue-limit N]`). */
export function capacityArgs(c: { partitions: number; timeScale: number; queueLimit?: number }): string[] {
  return ["--capacity", "--partitions", String(c.partitions), "--time-scale", String(c.timeScale), ...(c.queueLimit === undefined ? [] : ["--queue-limit", String(c.queueLimit)])];
}

/** `count` EC P-256 / RSA-2048 keys (alternating) expiring in 10 days, their rotation policy set; `concurrency` at a time. */
export async function seedDueKeys(stack: LocalStack, count: number, options: { prefix?: string; concurrency?: number } = {}): Promise<BurstKey[]> {
  const admin = new KeyClient(stack.urls.primary, stack.adminCredential, stack.clientOptions());
  const prefix = options.prefix ?? "burst";
  const out: BurstKey[] = new Array(count);
  // One request alone first: the SDK's challenge policy loses the body of a concurrent first request.
  await admin.listPropertiesOfKeys().byPage().next();
  let next = 0;
  const expiresOn = new Date(Date.now() + 10 * DAY);
  await Promise.all(
    Array.from({ length: Math.min(options.concurrency ?? 16, count) }, async () => {
      while (next < count) {
        const i = next++;
        const name = `${prefix}-${String(i).padStart(4, "0")}`;
        const key = i % 2 === 0 ? await admin.createEcKey(name, { curve: "P-256", keyOps: ["sign", "verify"], expiresOn }) : await admin.createRsaKey(name, { keySize: 2048, expiresOn });
        await admin.updateKeyRotationPolicy(name, { expiresIn: "P180D", lifetimeActions: [] });
        const version = key.properties.version ?? "";
        out[i] = { name, version, keyId: key.id ?? "", expiresOn, instanceId: rotationInstanceId({ vaultUrl: stack.urls.primary, name, version }) };
      }
    }),
  );
  return out;
}

/** The same keys on a restarted stack, whose HSM may listen on another port (key ids and rotation ids name it). */
export function burstKeysOn(stack: LocalStack, keys: readonly BurstKey[]): BurstKey[] {
  return keys.map((k) => ({ ...k, keyId: `${stack.urls.primary}/keys/${k.name}/${k.version}`, instanceId: rotationInstanceId({ vaultUrl: stack.urls.primary, name: k.name, version: k.version }) }));
}

/** Publishes one KeyNearExpiry per key to the lifecycle topic (`times` deliveries of the same event id each). */
export async function publishNearExpiry(stack: LocalStack, keys: readonly BurstKey[], options: { times?: number; concurrency?: number } = {}): Promise<void> {
  const publisher = createLifecyclePublisher({
    endpoint: stack.topicEndpoint,
    credential: new AzureKeyCredential(stack.settings["LIFECYCLE_TOPIC_KEY"] ?? ""),
    clientOptions: { tlsOptions: { ca: stack.caPem } },
  });
  const sends = keys.flatMap((k) => Array.from({ length: options.times ?? 1 }, () => k));
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(options.concurrency ?? 16, sends.length) }, async () => {
      while (next < sends.length) {
        const k = sends[next++] as BurstKey;
        const outcome = await publisher.publish({
          type: LifecycleEventType.KeyNearExpiry,
          id: noticeEventId({ vaultUrl: stack.urls.primary, name: k.name, version: k.version, stage: "P30D" }),
          subject: k.name,
          time: new Date(),
          data: { Id: k.keyId, VaultName: "primary", ObjectType: "Key", ObjectName: k.name, Version: k.version, NBF: null, EXP: Math.floor(k.expiresOn.getTime() / 1000) },
        });
        if (outcome.kind !== "published") throw new Error(`KeyNearExpiry for ${k.name} not published: ${JSON.stringify(outcome)}`);
      }
    }),
  );
}

export interface BurstOutcome {
  rotated: number;
  /** Keys with more than one new version: a rotation that ran twice. */
  rotatedTwice: number;
  failed: number;
  /** Instance id → failure text (first 5). */
  failures: string[];
  /** When each rotation instance reached a terminal state (ms since epoch, the runner's clock). */
  finishedAt: Map<string, number>;
}

/** Waits until every key's rotation instance is terminal (or `timeoutMs`), then counts outcomes and versions. */
export async function awaitRotations(stack: LocalStack, keys: readonly BurstKey[], timeoutMs = 600_000): Promise<BurstOutcome> {
  const runner = stack.runner;
  if (runner === undefined) throw new Error("the stack started no runner");
  const finishedAt = new Map<string, number>();
  const deadline = Date.now() + timeoutMs;
  while (finishedAt.size < keys.length) {
    for (const k of keys) {
      if (finishedAt.has(k.instanceId)) continue;
      const s = runner.host.get(k.instanceId)?.runtimeStatus;
      if (s === "Completed" || s === "Failed" || s === "Terminated") finishedAt.set(k.instanceId, Date.now());
    }
    if (finishedAt.size === keys.length) break;
    if (Date.now() > deadline) throw new Error(`only ${finishedAt.size} of ${keys.length} rotations finished in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const admin = new KeyClient(stack.urls.primary, stack.adminCredential, stack.clientOptions());
  const out: BurstOutcome = { rotated: 0, rotatedTwice: 0, failed: 0, failures: [], finishedAt };
  for (const k of keys) {
    const rec = runner.host.get(k.instanceId);
    const output = JSON.parse(rec?.output ?? "null") as RotateKeyOutput | null;
    if (rec?.runtimeStatus === "Completed" && output !== null && (output.kind === "rotated" || output.kind === "alreadyRotated")) out.rotated++;
    else {
      out.failed++;
      if (out.failures.length < 5) out.failures.push(`${k.instanceId}: ${rec?.runtimeStatus ?? "?"} ${JSON.stringify(output).slice(0, 300)}`);
    }
  }
  let versionsChecked = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (versionsChecked < keys.length) {
        const k = keys[versionsChecked++] as BurstKey;
        let n = 0;
        for await (const _v of admin.listPropertiesOfKeyVersions(k.name)) n++;
        if (n > 2) out.rotatedTwice++;
      }
    }),
  );
  return out;
}

/** Successful creates (KeyRotate) on `primary` since `since` (ISO), as epoch ms, from the emulator's audit log. */
export async function createTimes(stack: LocalStack, since: string): Promise<number[]> {
  const answer = await stack.control("primary", "GET", `/_emulator/audit?operationName=KeyRotate&since=${encodeURIComponent(since)}`);
  return ((answer.body?.value ?? []) as { time: string; resultType: string }[]).filter((r) => r.resultType === "Success").map((r) => Date.parse(r.time)).sort((a, b) => a - b);
}
