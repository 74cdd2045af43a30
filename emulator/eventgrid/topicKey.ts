import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

export interface TopicKey {
  /** base64 of 32 random bytes: the SDK's SAS helper base64-decodes the key before signing, as Azure's keys are. */
  readonly key: string;
  readonly keyFile: string;
}

/**
 * Returns the topic's access key, generating it into `DIR/eventgrid/<topic>.key` (mode 0600) on first start so
 * it survives restarts like an Azure topic key does. The key is never printed: the ready line names the file.
 */
export function ensureTopicKey(stateDir: string, topicName: string): TopicKey {
  if (!/^[A-Za-z0-9-]{3,50}$/.test(topicName)) {
    throw new Error(`Invalid topic name "${topicName}": use 3-50 letters, digits or hyphens, as Azure does.`);
  }
  const dir = path.join(stateDir, "eventgrid");
  const keyFile = path.join(dir, `${topicName}.key`);
  try {
    const existing = readFileSync(keyFile, "utf8").trim();
    if (existing) return { key: existing, keyFile };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  mkdirSync(dir, { recursive: true });
  const key = randomBytes(32).toString("base64");
  writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
  return { key, keyFile };
}
