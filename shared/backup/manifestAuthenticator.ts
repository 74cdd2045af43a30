import { createHmac, timingSafeEqual } from "node:crypto";
import { LifecycleError } from "../errors/lifecycleError";

/**
 * Authenticates what retention and drills act on: the manifest's content (through its digest) and the state kept
 * in its blob metadata (identity, verified mark). An HMAC-SHA256 with `BACKUP_MANIFEST_KEY`, a key the app holds
 * and the storage account does not: whoever can write blobs (a leaked SAS, a storage role) can no longer forge a
 * backup, a verified mark or a folder, because without the key the MAC does not match and the blob is ignored.
 */
export interface ManifestAuthenticator {
  /** Hex HMAC over the parts (length-prefixed, so no two part lists share a MAC input). */
  mac(parts: readonly string[]): string;
  /** Whether `mac` is the MAC of the parts; constant-time. */
  verify(parts: readonly string[], mac: string | undefined): boolean;
}

/** Minimum key length in bytes (HMAC-SHA256's output size). */
export const MANIFEST_KEY_MIN_BYTES = 32;

/** Builds the authenticator from the base64 key (`BACKUP_MANIFEST_KEY`); throws `SettingsInvalid` when it is too short. */
export function manifestAuthenticator(keyBase64: string): ManifestAuthenticator {
  const key = Buffer.from(keyBase64.trim(), "base64");
  if (key.length < MANIFEST_KEY_MIN_BYTES) {
    throw new LifecycleError("SettingsInvalid", `BACKUP_MANIFEST_KEY must be at least ${MANIFEST_KEY_MIN_BYTES} random bytes, base64-encoded (got ${key.length}). Fix: generate one with \`openssl rand -base64 32\` and store it as a Key Vault reference.`);
  }
  const mac = (parts: readonly string[]): string => {
    const h = createHmac("sha256", key);
    for (const p of parts) h.update(`${Buffer.byteLength(p, "utf8")}:${p};`, "utf8");
    return h.digest("hex");
  };
  return {
    mac,
    verify(parts, given) {
      if (typeof given !== "string" || !/^[0-9a-f]{64}$/.test(given)) return false;
      return timingSafeEqual(Buffer.from(mac(parts), "hex"), Buffer.from(given, "hex"));
    },
  };
}
