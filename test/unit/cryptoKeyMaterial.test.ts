import { createHash, createPublicKey, generateKeyPairSync, verify as nodeVerify, type JsonWebKey } from "node:crypto";
import { describe, expect, it } from "vitest";
import { CryptoInputError } from "../../emulator/crypto/cryptoInputError.js";
import {
  generateKeyMaterial,
  generateKeyMaterialAsync,
  importKeyMaterial,
  toPublicJwk,
  type PrivateJwk,
  type PublicJwk,
} from "../../emulator/crypto/keyMaterial.js";
import { sign } from "../../emulator/crypto/keyOperations.js";

const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "k"];

function expectInputError(fn: () => unknown, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, "expected a CryptoInputError").toBeInstanceOf(CryptoInputError);
  expect((caught as Error).message).toMatch(message);
}

function bits(b64u: string): number {
  return BigInt("0x" + Buffer.from(b64u, "base64url").toString("hex")).toString(2).length;
}

function expectPublicOnly(pub: PublicJwk, priv: PrivateJwk): void {
  for (const m of PRIVATE_MEMBERS) expect(Object.keys(pub)).not.toContain(m);
  const text = JSON.stringify(pub);
  for (const m of PRIVATE_MEMBERS) {
    const secret = (priv as unknown as Record<string, unknown>)[m];
    if (typeof secret === "string") expect(text.includes(secret)).toBe(false);
  }
}

function nodeJwk(kty: "rsa" | "ec", opts: { modulusLength?: number; namedCurve?: string }): JsonWebKey {
  const pair = kty === "rsa"
    ? generateKeyPairSync("rsa", { modulusLength: opts.modulusLength ?? 2048 })
    : generateKeyPairSync("ec", { namedCurve: opts.namedCurve ?? "prime256v1" });
  return pair.privateKey.export({ format: "jwk" });
}

describe("generateKeyMaterial", () => {
  it("RSA defaults to 2048 bits with e = 65537 and carries every CRT member", () => {
    const jwk = generateKeyMaterial("RSA", {});
    expect(Object.keys(jwk).sort()).toEqual(["d", "dp", "dq", "e", "kty", "n", "p", "q", "qi"]);
    expect(jwk.kty).toBe("RSA");
    expect(bits(jwk.n!)).toBe(2048);
    expect(jwk.e).toBe("AQAB");
    for (const v of Object.values(jwk)) expect(v).toMatch(/^[A-Za-z0-9_-]+$/);
    const pub = toPublicJwk(jwk);
    expect(pub).toEqual({ kty: "RSA", n: jwk.n, e: "AQAB" });
    expectPublicOnly(pub, jwk);
  });

  it("RSA 3072 and 4096 (off the event loop) have the requested modulus size", async () => {
    const [a, b] = await Promise.all([generateKeyMaterialAsync("RSA", { size: 3072 }), generateKeyMaterialAsync("RSA", { size: 4096 })]);
    expect(bits(a.n!)).toBe(3072);
    expect(bits(b.n!)).toBe(4096);
    expect(createPublicKey({ key: toPublicJwk(b) as JsonWebKey, format: "jwk" }).asymmetricKeyDetails?.modulusLength).toBe(4096);
  });

  it("RSA-2048 (made ahead in the pool) is fresh for every key and signs with its own private key", async () => {
    const keys = await Promise.all(Array.from({ length: 6 }, () => generateKeyMaterialAsync("RSA")));
    expect(new Set(keys.map((k) => k.n)).size).toBe(6);
    // Once filled, the pool hands out pairs made ahead: again distinct from each other and from the first ones.
    await new Promise((r) => setTimeout(r, 50));
    const more = await Promise.all(Array.from({ length: 4 }, () => generateKeyMaterialAsync("RSA", { size: 2048, publicExponent: 65537 })));
    expect(new Set([...keys, ...more].map((k) => k.n)).size).toBe(10);
    for (const jwk of [...keys, ...more]) {
      expect(bits(jwk.n!)).toBe(2048);
      expect(jwk.e).toBe("AQAB");
      const data = Buffer.from("pool");
      const signature = sign(jwk, "RS256", createHash("sha256").update(data).digest());
      expect(nodeVerify("sha256", data, createPublicKey({ key: toPublicJwk(jwk) as JsonWebKey, format: "jwk" }), signature)).toBe(true);
    }
  });

  it.each([
    ["P-256", "P-256", 32],
    ["P-384", "P-384", 48],
    ["P-521", "P-521", 66],
    ["P-256K", "secp256k1", 32],
  ] as const)("EC %s: coordinates of the right length, public JWK node accepts", (curve, nodeCrv, length) => {
    const jwk = generateKeyMaterial("EC", { curve });
    expect(jwk.crv).toBe(curve);
    expect(Object.keys(jwk).sort()).toEqual(["crv", "d", "kty", "x", "y"]);
    expect(Buffer.from(jwk.x!, "base64url")).toHaveLength(length);
    expect(Buffer.from(jwk.y!, "base64url")).toHaveLength(length);
    const pub = toPublicJwk(jwk);
    expect(pub).toEqual({ kty: "EC", crv: curve, x: jwk.x, y: jwk.y });
    expectPublicOnly(pub, jwk);
    const key = createPublicKey({ key: { ...pub, crv: nodeCrv } as JsonWebKey, format: "jwk" });
    expect(key.asymmetricKeyType).toBe("ec");
  });

  it("EC defaults to P-256", () => {
    expect(generateKeyMaterial("EC", {}).crv).toBe("P-256");
  });

  it.each([128, 192, 256])("oct %i bits: random k of that size, no public members", (size) => {
    const a = generateKeyMaterial("oct", { size });
    const b = generateKeyMaterial("oct", { size });
    expect(Buffer.from(a.k!, "base64url")).toHaveLength(size / 8);
    expect(a.k).not.toBe(b.k);
    expect(toPublicJwk(a)).toEqual({ kty: "oct" });
    expectPublicOnly(toPublicJwk(a), a);
  });

  it("oct defaults to 256 bits", () => {
    expect(Buffer.from(generateKeyMaterial("oct", {}).k!, "base64url")).toHaveLength(32);
  });

  it("refuses unsupported sizes, curves, exponents and key types", () => {
    expectInputError(() => generateKeyMaterial("RSA", { size: 1024 }), /RSA key size 1024 is not supported; use 2048, 3072 or 4096/);
    expectInputError(() => generateKeyMaterial("RSA", { publicExponent: 4 }), /public exponent 4 is not valid/);
    expectInputError(() => generateKeyMaterial("EC", { curve: "P-192" }), /EC curve "P-192" is not supported/);
    expectInputError(() => generateKeyMaterial("oct", { size: 512 }), /oct key size 512 is not supported/);
    expectInputError(() => generateKeyMaterial("DSA" as "RSA", {}), /Key type "DSA" is not supported/);
  });

  it("toPublicJwk accepts the HSM spelling of kty and drops private members", () => {
    const jwk = generateKeyMaterial("RSA", {});
    const pub = toPublicJwk({ ...jwk, kty: "RSA-HSM" as "RSA" });
    expect(Object.keys(pub).sort()).toEqual(["e", "kty", "n"]);
    expectPublicOnly(pub, jwk);
  });
});

describe("importKeyMaterial", () => {
  const digest = createHash("sha256").update("data").digest();

  it("imports an RSA-HSM JWK made elsewhere, drops non-material members, and the key signs", () => {
    const source = nodeJwk("rsa", {});
    const input = { ...source, kty: "RSA-HSM", kid: "https://x/keys/k/1", key_ops: ["sign"] };
    const before = JSON.stringify(input);
    const jwk = importKeyMaterial(input);
    expect(JSON.stringify(input)).toBe(before);
    expect(Object.keys(jwk).sort()).toEqual(["d", "dp", "dq", "e", "kty", "n", "p", "q", "qi"]);
    expect(jwk.kty).toBe("RSA");
    expect(jwk.n).toBe(source.n);
    const sig = sign(jwk, "RS256", digest);
    expect(nodeVerify("sha256", Buffer.from("data"), createPublicKey({ key: source, format: "jwk" }), sig)).toBe(true);
  });

  it("names the missing RSA members", () => {
    const { d: _d, qi: _qi, ...partial } = nodeJwk("rsa", {});
    expectInputError(() => importKeyMaterial(partial), /missing or not a string: d, qi/);
  });

  it("refuses RSA material that does not fit together", () => {
    const a = nodeJwk("rsa", {});
    const b = nodeJwk("rsa", {});
    expectInputError(() => importKeyMaterial({ ...a, d: b.d, dp: b.dp, dq: b.dq }), /do not match n and e/);
    expectInputError(() => importKeyMaterial({ ...a, p: b.p }), /p · q does not equal the modulus n/);
    expectInputError(() => importKeyMaterial(nodeJwk("rsa", { modulusLength: 1024 })), /RSA key size 1024 is not supported for import/);
    expectInputError(() => importKeyMaterial({ ...a, n: a.n!.slice(0, 20) + "+/" + a.n!.slice(22) }), /"n" is not valid base64url/);
  });

  it.each([
    ["prime256v1", "P-256", "P-256"],
    ["secp384r1", "P-384", "P-384"],
    ["secp521r1", "P-521", "P-521"],
    ["secp256k1", "secp256k1", "P-256K"],
    ["secp256k1", "P-256K", "P-256K"],
  ])("imports EC %s given as crv %s", (namedCurve, crv, expected) => {
    const source = nodeJwk("ec", { namedCurve });
    const jwk = importKeyMaterial({ ...source, crv, kty: "EC-HSM" });
    expect(jwk).toEqual({ kty: "EC", crv: expected, x: source.x, y: source.y, d: source.d });
  });

  it("derives x, y from d when they are absent, and refuses a d that does not match (x, y)", () => {
    const a = nodeJwk("ec", {});
    const b = nodeJwk("ec", {});
    expect(importKeyMaterial({ kty: "EC", crv: "P-256", d: a.d })).toEqual({ kty: "EC", crv: "P-256", x: a.x, y: a.y, d: a.d });
    expectInputError(() => importKeyMaterial({ ...a, d: b.d }), /d does not match the public point/);
    expectInputError(() => importKeyMaterial({ ...a, y: a.x }), /not a point on P-256/);
    expectInputError(() => importKeyMaterial({ ...a, crv: "P-192" }), /curve "P-192" is not supported/);
    expectInputError(() => importKeyMaterial({ kty: "EC", crv: "P-256", d: Buffer.alloc(32).toString("base64url") }), /d is out of range/);
    expectInputError(() => importKeyMaterial({ kty: "EC", crv: "P-256" }), /missing or not a string: d/);
  });

  it("imports oct keys of 128/192/256 bits only", () => {
    for (const n of [16, 24, 32]) {
      const k = Buffer.alloc(n, 7).toString("base64url");
      expect(importKeyMaterial({ kty: "oct-HSM", k })).toEqual({ kty: "oct", k });
    }
    expectInputError(() => importKeyMaterial({ kty: "oct", k: Buffer.alloc(20).toString("base64url") }), /key length 160 bits is not supported/);
    expectInputError(() => importKeyMaterial({ kty: "oct" }), /missing or not a string: k/);
  });

  it("refuses non-objects, unknown key types and BYOK transfer blobs", () => {
    for (const bad of [null, undefined, "RSA", 42, [1, 2]]) {
      expectInputError(() => importKeyMaterial(bad), /must be a JSON Web Key object/);
    }
    expectInputError(() => importKeyMaterial({ kty: "DSA" }), /unsupported kty "DSA"/);
    expectInputError(() => importKeyMaterial({ kty: "RSA-HSM", key_hsm: "eyJ..." }), /BYOK import \(key_hsm/);
  });
});
