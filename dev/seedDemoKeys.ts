/**
 * Demo keys for the local stack: RSA, EC and oct on the primary HSM and keys on the vault, some near expiry
 * (due under shared/rotation/rotation-policy.example.json), one already expired, one excluded, some not
 * due. A key that already exists is left alone, so a restart on the same state dir changes nothing.
 */
import type { TokenCredential } from "@azure/core-auth";
import { KeyClient, type CreateKeyOptions } from "@azure/keyvault-keys";

export interface DemoKey {
  instance: string;
  name: string;
  kind: "RSA" | "EC" | "oct";
  /** Days from now to expiry (negative: already expired); undefined: no expiry. */
  expiresInDays?: number;
  options: CreateKeyOptions & { keySize?: number; curve?: "P-256" | "P-384" | "P-521" | "P-256K"; hsm?: boolean };
  why: string;
}

export function demoKeys(names: { primary: string; vault: string }): DemoKey[] {
  return [
    { instance: names.primary, name: "pay-signing", kind: "RSA", expiresInDays: 10, options: { keySize: 3072, keyOps: ["sign", "verify"] }, why: "near expiry (rule hsm-payment-keys)" },
    { instance: names.primary, name: "data-wrap", kind: "oct", expiresInDays: 20, options: { hsm: true, keySize: 256, keyOps: ["wrapKey", "unwrapKey", "encrypt", "decrypt"] }, why: "near expiry (rule hsm-default)" },
    { instance: names.primary, name: "token-signing", kind: "EC", expiresInDays: -1, options: { curve: "P-256", keyOps: ["sign", "verify"] }, why: "expired" },
    { instance: names.primary, name: "archive-encrypt", kind: "RSA", expiresInDays: 300, options: { keySize: 2048, keyOps: ["encrypt", "decrypt", "wrapKey", "unwrapKey"] }, why: "not due" },
    { instance: names.primary, name: "legacy-export", kind: "RSA", options: { keySize: 2048, keyOps: ["sign", "verify"] }, why: "excluded (legacy-*)" },
    { instance: names.vault, name: "app-signing", kind: "EC", expiresInDays: 10, options: { curve: "P-256", keyOps: ["sign", "verify"], tags: { owner: "demo" } }, why: "near expiry (rule vault-app-keys)" },
    { instance: names.vault, name: "app-encrypt", kind: "RSA", expiresInDays: 60, options: { keySize: 2048, keyOps: ["encrypt", "decrypt", "wrapKey", "unwrapKey"], tags: { owner: "demo" } }, why: "not due" },
  ];
}

/** Creates the missing demo keys; returns the names created ("instance/name"). */
export async function seedDemoKeys(keys: readonly DemoKey[], urls: Record<string, string>, credential: TokenCredential, ca: string, now: Date = new Date()): Promise<string[]> {
  const created: string[] = [];
  const clients = new Map<string, KeyClient>();
  for (const key of keys) {
    const url = urls[key.instance];
    if (url === undefined) throw new Error(`Demo key ${key.name} names instance "${key.instance}", which the stack did not start.`);
    let client = clients.get(key.instance);
    if (client === undefined) {
      client = new KeyClient(url, credential, { tlsOptions: { ca }, disableChallengeResourceVerification: true });
      clients.set(key.instance, client);
    }
    if (await exists(client, key.name)) continue;
    const options = { ...key.options, ...(key.expiresInDays !== undefined ? { expiresOn: new Date(now.getTime() + key.expiresInDays * 86_400_000) } : {}) };
    if (key.kind === "RSA") await client.createRsaKey(key.name, options);
    else if (key.kind === "EC") await client.createEcKey(key.name, options);
    else await client.createOctKey(key.name, options);
    created.push(`${key.instance}/${key.name}`);
  }
  return created;
}

async function exists(client: KeyClient, name: string): Promise<boolean> {
  try {
    await client.getKey(name);
    return true;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return false;
    throw e;
  }
}
