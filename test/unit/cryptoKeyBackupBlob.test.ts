import { createHmac, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { CryptoInputError } from "../../emulator/crypto/cryptoInputError.js";
import { CORRUPT_BACKUP_MESSAGE, deriveKey, openKeyBackup, sealKeyBackup } from "../../emulator/crypto/keyBackupBlob.js";

const secret = Buffer.from("0123456789abcdef0123456789abcdef", "hex");
const payload = {
  name: "orders-signing",
  versions: [{ version: "0a1b2c3d4e5f60718293a4b5c6d7e8f9", jwk: { kty: "oct", k: "c2VjcmV0LW1hcmtlci12YWx1ZQ" } }],
  tags: { owner: "team-a" },
};

function expectCorrupt(blob: string, key: Buffer = secret): void {
  let caught: unknown;
  try {
    openKeyBackup(blob, key);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(CryptoInputError);
  expect((caught as Error).message).toBe("Backup blob contains invalid or corrupt version.");
}

/** Independent RFC 5869 HKDF-SHA256 (extract with an empty salt, expand one block) to check deriveKey against. */
function hkdfReference(ikm: Buffer, info: string): Buffer {
  const prk = createHmac("sha256", Buffer.alloc(32)).update(ikm).digest();
  return createHmac("sha256", prk).update(Buffer.from(info, "utf8")).update(Buffer.from([1])).digest();
}

describe("single-key backup blob", () => {
  it("round-trips the payload and keeps it unreadable", () => {
    const blob = sealKeyBackup(payload, secret);
    expect(blob).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(openKeyBackup(blob, secret)).toEqual(payload);
    const raw = Buffer.from(blob, "base64url");
    expect(raw.includes(Buffer.from("orders-signing"))).toBe(false);
    expect(raw.includes(Buffer.from("c2VjcmV0LW1hcmtlci12YWx1ZQ"))).toBe(false);
  });

  it("seals the same payload differently each time (fresh IV)", () => {
    const a = sealKeyBackup(payload, secret);
    const b = sealKeyBackup(payload, secret);
    expect(a).not.toBe(b);
    expect(openKeyBackup(a, secret)).toEqual(openKeyBackup(b, secret));
  });

  it("rejects a wrong secret with the service's exact message", () => {
    const blob = sealKeyBackup(payload, secret);
    expectCorrupt(blob, randomBytes(32));
  });

  it("rejects any single-character tamper, including the last character's slack bits", () => {
    const blob = sealKeyBackup(payload, secret);
    const positions = [0, 3, 5, 8, 20, Math.floor(blob.length / 2), blob.length - 22, blob.length - 2, blob.length - 1];
    for (const i of positions) {
      const c = blob[i]!;
      for (const replacement of ["A", "B", "-", "_"].filter((r) => r !== c).slice(0, 2)) {
        expectCorrupt(blob.slice(0, i) + replacement + blob.slice(i + 1));
      }
    }
  });

  it("rejects truncation, extension, padding and foreign characters", () => {
    const blob = sealKeyBackup(payload, secret);
    expectCorrupt(blob.slice(0, -1));
    expectCorrupt(blob.slice(0, -4));
    expectCorrupt(blob.slice(0, Math.floor(blob.length / 2)));
    expectCorrupt(blob.slice(0, 20));
    expectCorrupt(blob + "AAAA");
    expectCorrupt(blob + "=");
    expectCorrupt(blob.slice(0, 10) + "+" + blob.slice(11));
    expectCorrupt(" " + blob);
    expectCorrupt("");
  });

  it("rejects a blob of another format version even when otherwise intact", () => {
    const raw = Buffer.from(sealKeyBackup(payload, secret), "base64url");
    raw[3] = 0x02;
    expectCorrupt(raw.toString("base64url"));
  });

  it("deriveKey is HKDF-SHA256 with the label as info, 32 bytes, label- and secret-separated", () => {
    const k1 = deriveKey(secret, "full-backup");
    expect(k1).toHaveLength(32);
    expect(k1.equals(hkdfReference(secret, "full-backup"))).toBe(true);
    expect(deriveKey(secret, "full-backup").equals(k1)).toBe(true);
    expect(deriveKey(secret, "key-backup").equals(k1)).toBe(false);
    expect(deriveKey(randomBytes(32), "full-backup").equals(k1)).toBe(false);
  });

  it("refuses a too-short secret or empty label loudly (a configuration bug, not a corrupt blob)", () => {
    expect(() => deriveKey(Buffer.alloc(4), "x")).toThrow(/at least 16 bytes/);
    expect(() => deriveKey(secret, "")).toThrow(/non-empty label/);
    expect(() => sealKeyBackup(payload, Buffer.alloc(0))).toThrow(TypeError);
  });

  it("exports the exact service message", () => {
    expect(CORRUPT_BACKUP_MESSAGE).toBe("Backup blob contains invalid or corrupt version.");
  });
});
