import type { NoticeStage } from "./decideRotation";

/** Durable instance ids: at most 256 characters, none of `/ \ ? #` or control characters, not starting with `@`. */
const MAX_ID = 256;

/**
 * The vault/HSM part of an id: lower-case host, with the port only when it is not 443 (the emulator's
 * ephemeral ports stay, so two local instances never collide). Accepts an origin, a key id URL
 * (`https://host/keys/name/version`, as events carry) or a bare host.
 */
export function normaliseVaultHost(vaultOrKeyUrl: string): string {
  const text = vaultOrKeyUrl.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  let host: string;
  try {
    const u = new URL(withScheme);
    host = u.port === "" || u.port === "443" ? u.hostname : `${u.hostname}:${u.port}`;
  } catch {
    host = text;
  }
  return host.toLowerCase().replace(/\.$/, "");
}

/**
 * `rotate:{vault}:{key}:{version}` — the per-key rotation orchestration's instance id. The same key version
 * always gives the same id, so the sweep, a redelivered `KeyNearExpiry` and a duplicate event start one
 * rotation at most (the starter must still check an existing instance's status: durable replaces a
 * *completed* instance started again under the same id). Key names are case-insensitive in Key Vault,
 * so the name is lower-cased.
 */
export function rotationInstanceId(ref: { vaultUrl: string; name: string; version: string }): string {
  requireVersion(ref.version, "rotationInstanceId");
  return boundedId(["rotate", normaliseVaultHost(ref.vaultUrl), ref.name.toLowerCase(), ref.version.toLowerCase()]);
}

/** `notice:{vault}:{key}:{version}:{stage}` — one near-expiry/expired event per key, version and stage. */
export function noticeEventId(ref: { vaultUrl: string; name: string; version: string; stage: NoticeStage }): string {
  requireVersion(ref.version, "noticeEventId");
  return boundedId(["notice", normaliseVaultHost(ref.vaultUrl), ref.name.toLowerCase(), ref.version.toLowerCase(), ref.stage]);
}

function requireVersion(version: string, fn: string): void {
  if (typeof version !== "string" || version.trim() === "") {
    throw new RangeError(`${fn} needs the key's current version; list pages of keys carry none, so read it from a versions page or the key itself.`);
  }
}

/** Escapes each segment, joins with ":", and keeps the id within durable's limit with a stable hash suffix. */
function boundedId(segments: string[]): string {
  const id = segments.map(escapeSegment).join(":");
  if (id.length <= MAX_ID) return id;
  const suffix = `~${fnv1a64(id)}`;
  return id.slice(0, MAX_ID - suffix.length) + suffix;
}

/** Percent-encodes (UTF-8) everything but letters, digits, `.`, `_`, `-` and `:` (the host's port). */
function escapeSegment(segment: string): string {
  let out = "";
  for (const ch of segment) {
    if (/[A-Za-z0-9._:-]/.test(ch)) out += ch;
    else {
      for (const byte of new TextEncoder().encode(ch)) out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    }
  }
  return out;
}

/** FNV-1a 64-bit as 16 hex digits: deterministic, dependency-free (no node:crypto in orchestration code). */
function fnv1a64(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, "0");
}
