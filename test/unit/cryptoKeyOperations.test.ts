import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { CryptoInputError } from "../../emulator/crypto/cryptoInputError.js";
import { generateKeyMaterial, importKeyMaterial, toPublicJwk, type PrivateJwk, type PublicJwk } from "../../emulator/crypto/keyMaterial.js";
import { decrypt, encrypt, sign, unwrapKey, verify, wrapKey } from "../../emulator/crypto/keyOperations.js";

type Hash = "sha256" | "sha384" | "sha512";

/** node:crypto's view of a PUBLIC jwk (node spells P-256K "secp256k1"). */
function nodePublicKey(jwk: PublicJwk): KeyObject {
  const key = { ...jwk, crv: jwk.crv === "P-256K" ? "secp256k1" : jwk.crv } as Record<string, string>;
  if (jwk.crv === undefined) delete key.crv;
  return createPublicKey({ key, format: "jwk" });
}

function nodePrivateKey(jwk: PrivateJwk): KeyObject {
  const key = { ...jwk, crv: jwk.crv === "P-256K" ? "secp256k1" : jwk.crv } as Record<string, string>;
  if (jwk.crv === undefined) delete key.crv;
  return createPrivateKey({ key, format: "jwk" });
}

function flipBit(b: Buffer, index = Math.floor(b.length / 2)): Buffer {
  const copy = Buffer.from(b);
  copy[index]! ^= 0x01;
  return copy;
}

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

const msg = Buffer.from("the quick brown fox signs the ledger");
const digestOf = (hash: Hash, data: Buffer = msg): Buffer => createHash(hash).update(data).digest();
const hexKey = (hex: string): PrivateJwk => importKeyMaterial({ kty: "oct", k: Buffer.from(hex, "hex").toString("base64url") });

let rsa: PrivateJwk;
let rsaPublic: KeyObject;
let ec: Record<"P-256" | "P-384" | "P-521" | "P-256K", PrivateJwk>;
let oct: Record<128 | 192 | 256, PrivateJwk>;

beforeAll(() => {
  rsa = generateKeyMaterial("RSA", { size: 2048 });
  rsaPublic = nodePublicKey(toPublicJwk(rsa));
  ec = {
    "P-256": generateKeyMaterial("EC", { curve: "P-256" }),
    "P-384": generateKeyMaterial("EC", { curve: "P-384" }),
    "P-521": generateKeyMaterial("EC", { curve: "P-521" }),
    "P-256K": generateKeyMaterial("EC", { curve: "P-256K" }),
  };
  oct = {
    128: generateKeyMaterial("oct", { size: 128 }),
    192: generateKeyMaterial("oct", { size: 192 }),
    256: generateKeyMaterial("oct", { size: 256 }),
  };
});

describe("RSA signatures over a digest", () => {
  const rs: [string, Hash][] = [["RS256", "sha256"], ["RS384", "sha384"], ["RS512", "sha512"]];
  const ps: [string, Hash, number][] = [["PS256", "sha256", 32], ["PS384", "sha384", 48], ["PS512", "sha512", 64]];

  it.each(rs)("%s is PKCS#1 v1.5 over the digest: identical to node's signature of the data", (alg, hash) => {
    const sig = sign(rsa, alg, digestOf(hash));
    expect(sig).toHaveLength(256);
    expect(sig.equals(nodeSign(hash, msg, nodePrivateKey(rsa)))).toBe(true);
    expect(nodeVerify(hash, msg, rsaPublic, sig)).toBe(true);
    expect(nodeVerify(hash, msg, rsaPublic, flipBit(sig))).toBe(false);
    expect(verify(rsa, alg, digestOf(hash), sig)).toBe(true);
    expect(verify(toPublicJwk(rsa), alg, digestOf(hash), sig)).toBe(true);
    expect(verify(rsa, alg, digestOf(hash), flipBit(sig))).toBe(false);
    expect(verify(rsa, alg, digestOf(hash, Buffer.from("other data")), sig)).toBe(false);
  });

  it.each(ps)("%s is PSS (salt = hash length) and verifies with node", (alg, hash, saltLength) => {
    const sig = sign(rsa, alg, digestOf(hash));
    expect(sig).toHaveLength(256);
    const pss = { key: rsaPublic, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength };
    expect(nodeVerify(hash, msg, pss, sig)).toBe(true);
    expect(nodeVerify(hash, msg, pss, flipBit(sig))).toBe(false);
    expect(nodeVerify(hash, msg, { ...pss, saltLength: saltLength - 1 }, sig)).toBe(false);
    expect(verify(rsa, alg, digestOf(hash), sig)).toBe(true);
    expect(verify(rsa, alg, digestOf(hash), flipBit(sig))).toBe(false);
    expect(sign(rsa, alg, digestOf(hash)).equals(sig)).toBe(false); // random salt
  });

  it.each(ps)("%s verifies node's own PSS signatures", (alg, hash, saltLength) => {
    const sig = nodeSign(hash, msg, { key: nodePrivateKey(rsa), padding: constants.RSA_PKCS1_PSS_PADDING, saltLength });
    expect(verify(rsa, alg, digestOf(hash), sig)).toBe(true);
  });

  it("RS vs PS signatures are not interchangeable, and a wrong-length or too-large signature is just invalid", () => {
    const rsSig = sign(rsa, "RS256", digestOf("sha256"));
    expect(verify(rsa, "PS256", digestOf("sha256"), rsSig)).toBe(false);
    expect(verify(rsa, "RS256", digestOf("sha256"), rsSig.subarray(1))).toBe(false);
    expect(verify(rsa, "RS256", digestOf("sha256"), Buffer.alloc(256, 0xff))).toBe(false);
    expect(verify(rsa, "PS256", digestOf("sha256"), Buffer.alloc(256, 0xff))).toBe(false);
  });

  it("works on a 3072-bit key and on a content-equal copy of the JWK (content-keyed cache)", () => {
    const big = generateKeyMaterial("RSA", { size: 3072 });
    const sig = sign({ ...big }, "PS384", digestOf("sha384"));
    expect(sig).toHaveLength(384);
    expect(nodeVerify("sha384", msg, { key: nodePublicKey(toPublicJwk(big)), padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 }, sig)).toBe(true);
    const copy = JSON.parse(JSON.stringify(rsa)) as PrivateJwk;
    expect(verify(copy, "RS256", digestOf("sha256"), sign(copy, "RS256", digestOf("sha256")))).toBe(true);
  });
});

describe("ECDSA over a digest (raw r||s)", () => {
  const cases: ["P-256" | "P-384" | "P-521" | "P-256K", string, Hash, number][] = [
    ["P-256", "ES256", "sha256", 64],
    ["P-384", "ES384", "sha384", 96],
    ["P-521", "ES512", "sha512", 132],
    ["P-256K", "ES256K", "sha256", 64],
  ];

  it.each(cases)("%s %s verifies with node (ieee-p1363) and rejects tampering", (curve, alg, hash, length) => {
    const key = ec[curve];
    const pub = nodePublicKey(toPublicJwk(key));
    for (let i = 0; i < 3; i++) {
      const sig = sign(key, alg, digestOf(hash));
      expect(sig).toHaveLength(length);
      expect(nodeVerify(hash, msg, { key: pub, dsaEncoding: "ieee-p1363" }, sig)).toBe(true);
      expect(nodeVerify(hash, msg, { key: pub, dsaEncoding: "ieee-p1363" }, flipBit(sig))).toBe(false);
      expect(nodeVerify(hash, msg, { key: pub, dsaEncoding: "ieee-p1363" }, flipBit(sig, length - 1))).toBe(false);
      expect(verify(key, alg, digestOf(hash), sig)).toBe(true);
      expect(verify(toPublicJwk(key), alg, digestOf(hash), sig)).toBe(true);
      expect(verify(key, alg, digestOf(hash), flipBit(sig))).toBe(false);
      expect(verify(key, alg, digestOf(hash, Buffer.from("x")), sig)).toBe(false);
    }
  });

  it.each(cases)("%s %s verifies node's own signatures", (curve, alg, hash) => {
    const sig = nodeSign(hash, msg, { key: nodePrivateKey(ec[curve]), dsaEncoding: "ieee-p1363" });
    expect(verify(ec[curve], alg, digestOf(hash), sig)).toBe(true);
    expect(verify(ec[curve], alg, digestOf(hash), Buffer.alloc(sig.length))).toBe(false);
    expect(verify(ec[curve], alg, digestOf(hash), sig.subarray(0, sig.length - 1))).toBe(false);
  });

  it.each(cases)("%s %s accepts the high-S twin of a signature (plain ECDSA, not low-S only) and signs non-deterministically", (curve, alg, hash, length) => {
    const half = length / 2;
    const n = { "P-256": P256_N, "P-384": P384_N, "P-521": P521_N, "P-256K": SECP256K1_N }[curve];
    const sig = sign(ec[curve], alg, digestOf(hash));
    const s = BigInt("0x" + sig.subarray(half).toString("hex"));
    const twin = Buffer.concat([sig.subarray(0, half), Buffer.from((n - s).toString(16).padStart(half * 2, "0"), "hex")]);
    expect(verify(ec[curve], alg, digestOf(hash), twin)).toBe(true);
    expect(nodeVerify(hash, msg, { key: nodePublicKey(toPublicJwk(ec[curve])), dsaEncoding: "ieee-p1363" }, twin)).toBe(true);
    expect(sign(ec[curve], alg, digestOf(hash)).equals(sig)).toBe(false);
  });

  it("node:crypto cannot sign a digest as is: sign(null, digest) signs SHA-256(digest), which is why a library does it", () => {
    const digest = digestOf("sha256");
    const nodeSig = nodeSign(null, digest, { key: nodePrivateKey(ec["P-256"]), dsaEncoding: "ieee-p1363" });
    expect(verify(ec["P-256"], "ES256", digest, nodeSig)).toBe(false);
    expect(verify(ec["P-256"], "ES256", createHash("sha256").update(digest).digest(), nodeSig)).toBe(true);
  });
});

// Group orders (SEC 2 v2), to build high-S twins.
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const P384_N = 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n;
const P521_N = 0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n;
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

describe("signature input errors", () => {
  it("checks the digest length against the algorithm", () => {
    expectInputError(() => sign(rsa, "RS256", digestOf("sha384")), /RS256 must be 32 bytes \(SHA256\); got 48/);
    expectInputError(() => sign(rsa, "PS512", digestOf("sha256")), /PS512 must be 64 bytes/);
    expectInputError(() => sign(ec["P-256"], "ES256", msg), /ES256 must be 32 bytes/);
    expectInputError(() => verify(rsa, "RS384", digestOf("sha256"), Buffer.alloc(256)), /RS384 must be 48 bytes/);
  });

  it("refuses an algorithm that does not fit the key", () => {
    expectInputError(() => sign(ec["P-384"], "ES256", digestOf("sha256")), /ES256 requires an EC P-256 key; this key is P-384/);
    expectInputError(() => sign(ec["P-256"], "ES256K", digestOf("sha256")), /ES256K requires an EC P-256K key/);
    expectInputError(() => sign(ec["P-256"], "RS256", digestOf("sha256")), /RS256 is not valid for an EC P-256 key/);
    expectInputError(() => sign(rsa, "ES256", digestOf("sha256")), /ES256 is not valid for an RSA-2048 key/);
    expectInputError(() => sign(oct[256], "RS256", digestOf("sha256")), /not valid for a 256-bit oct key/);
  });

  it("refuses unknown algorithms, missing algorithms and keys without a private part", () => {
    expectInputError(() => sign(rsa, "RS1", digestOf("sha256")), /RS1 is not a supported signature algorithm/);
    expectInputError(() => sign(rsa, "RSA-OAEP", digestOf("sha256")), /not a supported signature algorithm/);
    expectInputError(() => sign(rsa, undefined as unknown as string, digestOf("sha256")), /needs an algorithm/);
    expectInputError(() => sign(toPublicJwk(rsa), "RS256", digestOf("sha256")), /no private part/);
    expectInputError(() => sign(toPublicJwk(ec["P-256"]), "ES256", digestOf("sha256")), /no private part/);
  });
});

describe("RSA encrypt / decrypt and wrap / unwrap", () => {
  const algs: [string, Buffer | undefined][] = [["RSA1_5", undefined], ["RSA-OAEP", undefined], ["RSA-OAEP-256", undefined]];
  const local = (alg: string, data: Buffer): Buffer =>
    alg === "RSA1_5"
      ? publicEncrypt({ key: rsaPublic, padding: constants.RSA_PKCS1_PADDING }, data)
      : publicEncrypt({ key: rsaPublic, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: alg === "RSA-OAEP" ? "sha1" : "sha256" }, data);

  it.each(algs)("%s round-trips and decrypts ciphertexts made locally with the public JWK", (alg) => {
    const plaintext = Buffer.from("attack at dawn");
    const { result, iv, authenticationTag } = encrypt(rsa, alg, plaintext);
    expect(result).toHaveLength(256);
    expect(iv).toBeUndefined();
    expect(authenticationTag).toBeUndefined();
    expect(decrypt(rsa, alg, result).equals(plaintext)).toBe(true);
    expect(decrypt(rsa, alg, local(alg, plaintext)).equals(plaintext)).toBe(true);
    const cek = randomBytes(32);
    expect(unwrapKey(rsa, alg, wrapKey(rsa, alg, cek)).equals(cek)).toBe(true);
    expect(unwrapKey(rsa, alg, local(alg, cek)).equals(cek)).toBe(true);
  });

  it("OAEP ciphertexts from the emulator decrypt with node's private key (right hash)", () => {
    const priv = nodePrivateKey(rsa);
    const a = encrypt(rsa, "RSA-OAEP", msg).result;
    const b = encrypt(rsa, "RSA-OAEP-256", msg).result;
    expect(privateDecrypt({ key: priv, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha1" }, a).equals(msg)).toBe(true);
    expect(privateDecrypt({ key: priv, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" }, b).equals(msg)).toBe(true);
  });

  it("refuses oversized plaintexts, wrong-length and undecryptable ciphertexts", () => {
    expectInputError(() => encrypt(rsa, "RSA-OAEP-256", Buffer.alloc(191)), /at most 190 bytes with an RSA-2048 key; got 191/);
    expectInputError(() => encrypt(rsa, "RSA1_5", Buffer.alloc(246)), /at most 245 bytes/);
    expectInputError(() => wrapKey(rsa, "RSA-OAEP", Buffer.alloc(215)), /wrap at most 214 bytes/);
    expectInputError(() => decrypt(rsa, "RSA-OAEP", Buffer.alloc(100)), /must be 256 bytes; got 100/);
    const ct = encrypt(rsa, "RSA-OAEP-256", msg).result;
    expectInputError(() => decrypt(rsa, "RSA-OAEP", ct), /decrypt failed/);
    expectInputError(() => decrypt(rsa, "RSA-OAEP-256", flipBit(ct)), /decrypt failed/);
    expectInputError(() => decrypt(rsa, "RSA1_5", encrypt(rsa, "RSA-OAEP", msg).result), /decrypt failed/);
    expectInputError(() => unwrapKey(rsa, "RSA1_5", Buffer.alloc(256)), /unwrap failed/);
  });

  it("refuses RSA algorithms on other key types and AES algorithms on RSA keys", () => {
    expectInputError(() => encrypt(ec["P-256"], "RSA-OAEP", msg), /RSA-OAEP is not valid for an EC P-256 key/);
    expectInputError(() => encrypt(oct[256], "RSA1_5", msg), /not valid for a 256-bit oct key/);
    expectInputError(() => encrypt(rsa, "A256GCM", msg), /A256GCM is not valid for an RSA-2048 key/);
    expectInputError(() => wrapKey(rsa, "A256KW", randomBytes(32)), /A256KW is not valid for an RSA-2048 key/);
    expectInputError(() => decrypt(toPublicJwk(rsa), "RSA-OAEP", Buffer.alloc(256)), /no private part/);
  });
});

describe("AES encrypt / decrypt", () => {
  const sizes = [128, 192, 256] as const;

  it.each(sizes)("A%iGCM round-trips with aad, generates a 12-byte iv and a 16-byte tag, and matches node", (bits) => {
    const key = oct[bits];
    const aad = Buffer.from("header");
    const out = encrypt(key, `A${bits}GCM`, msg, { aad });
    expect(out.iv).toHaveLength(12);
    expect(out.authenticationTag).toHaveLength(16);
    expect(decrypt(key, `A${bits}GCM`, out.result, { iv: out.iv!, aad, tag: out.authenticationTag! }).equals(msg)).toBe(true);
    const k = Buffer.from(key.k!, "base64url");
    const d = createDecipheriv(`aes-${bits}-gcm`, k, out.iv!);
    d.setAAD(aad);
    d.setAuthTag(out.authenticationTag!);
    expect(Buffer.concat([d.update(out.result), d.final()]).equals(msg)).toBe(true);
  });

  it("A256GCM uses a caller's 12-byte iv and rejects every tamper", () => {
    const iv = randomBytes(12);
    const aad = Buffer.from("aad");
    const out = encrypt(oct[256], "A256GCM", msg, { iv, aad });
    expect(out.iv!.equals(iv)).toBe(true);
    const tag = out.authenticationTag!;
    expectInputError(() => decrypt(oct[256], "A256GCM", flipBit(out.result), { iv, aad, tag }), /authentication tag does not match/);
    expectInputError(() => decrypt(oct[256], "A256GCM", out.result, { iv, aad, tag: flipBit(tag) }), /authentication tag does not match/);
    expectInputError(() => decrypt(oct[256], "A256GCM", out.result, { iv, aad: Buffer.from("AAD"), tag }), /authentication tag does not match/);
    expectInputError(() => decrypt(oct[256], "A256GCM", out.result, { iv, tag }), /authentication tag does not match/);
    expectInputError(() => decrypt(oct[256], "A256GCM", out.result, { iv: flipBit(iv), aad, tag }), /authentication tag does not match/);
    expectInputError(() => decrypt(oct[256], "A256GCM", out.result, { iv, aad }), /16-byte authentication tag.*got none/);
    expectInputError(() => decrypt(oct[256], "A256GCM", out.result, { iv, aad, tag: tag.subarray(0, 12) }), /got 12 bytes/);
    expectInputError(() => decrypt(oct[256], "A256GCM", out.result, { aad, tag }), /12-byte iv.*got none/);
    expectInputError(() => encrypt(oct[256], "A256GCM", msg, { iv: randomBytes(16) }), /12-byte iv.*got 16 bytes/);
  });

  it.each(sizes)("A%iCBCPAD is AES-CBC with PKCS#7 padding (matches node) and needs a 16-byte iv", (bits) => {
    const key = oct[bits];
    const iv = randomBytes(16);
    const out = encrypt(key, `A${bits}CBCPAD`, msg, { iv });
    const c = createCipheriv(`aes-${bits}-cbc`, Buffer.from(key.k!, "base64url"), iv);
    expect(out.result.equals(Buffer.concat([c.update(msg), c.final()]))).toBe(true);
    expect(out.iv!.equals(iv)).toBe(true);
    expect(out.authenticationTag).toBeUndefined();
    expect(decrypt(key, `A${bits}CBCPAD`, out.result, { iv }).equals(msg)).toBe(true);
    expectInputError(() => encrypt(key, `A${bits}CBCPAD`, msg), /requires a 16-byte iv; got none/);
    expectInputError(() => encrypt(key, `A${bits}CBCPAD`, msg, { iv: randomBytes(12) }), /16-byte iv; got 12 bytes/);
  });

  it("CBCPAD rejects bad padding and bad lengths; CBC (no padding) needs whole blocks", () => {
    const k = Buffer.from(oct[128].k!, "base64url");
    const iv = randomBytes(16);
    const c = createCipheriv("aes-128-cbc", k, iv);
    c.setAutoPadding(false);
    const badPadding = Buffer.concat([c.update(Buffer.alloc(16, 0)), c.final()]); // last byte 0x00: never valid PKCS#7
    expectInputError(() => decrypt(oct[128], "A128CBCPAD", badPadding, { iv }), /padding is invalid/);
    expectInputError(() => decrypt(oct[128], "A128CBCPAD", Buffer.alloc(17), { iv }), /multiple of 16 bytes; got 17/);
    expectInputError(() => decrypt(oct[128], "A128CBCPAD", Buffer.alloc(0), { iv }), /non-empty multiple of 16/);
    const block = randomBytes(32);
    const raw = encrypt(oct[128], "A128CBC", block, { iv });
    expect(raw.result).toHaveLength(32);
    expect(decrypt(oct[128], "A128CBC", raw.result, { iv }).equals(block)).toBe(true);
    expectInputError(() => encrypt(oct[128], "A128CBC", msg, { iv }), /multiple of 16 bytes/);
  });

  it("checks the key size against the algorithm and the key type", () => {
    expectInputError(() => encrypt(oct[128], "A256GCM", msg), /A256GCM requires a 256-bit oct key; this key is 128-bit/);
    expectInputError(() => encrypt(oct[256], "A192CBCPAD", msg, { iv: randomBytes(16) }), /requires a 192-bit oct key/);
    expectInputError(() => encrypt(ec["P-256"], "A128GCM", msg), /A128GCM is not valid for an EC P-256 key/);
    expectInputError(() => encrypt(oct[256], "A256KW", msg), /not a supported encryption algorithm/);
    expectInputError(() => encrypt(oct[256], "XYZ", msg), /XYZ is not a supported encryption algorithm/);
  });
});

describe("AES key wrap (RFC 3394 / RFC 5649)", () => {
  const KEY128 = "00112233445566778899AABBCCDDEEFF";
  // RFC 3394 §4.1, §4.2, §4.3, §4.6
  const vectors: [string, string, string, string][] = [
    ["A128KW", "000102030405060708090A0B0C0D0E0F", KEY128, "1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5"],
    ["A192KW", "000102030405060708090A0B0C0D0E0F1011121314151617", KEY128, "96778B25AE6CA435F92B5B97C050AED2468AB8A17AD84E5D"],
    ["A256KW", "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", KEY128, "64E8C3F9CE0F5BA263E9777905818A2A93C8191E7D6E8AE7"],
    [
      "A256KW",
      "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
      "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F",
      "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21",
    ],
  ];

  it.each(vectors)("%s matches the RFC 3394 vector (KEK %s)", (alg, kek, keyData, expected) => {
    const key = hexKey(kek);
    const wrapped = wrapKey(key, alg, Buffer.from(keyData, "hex"));
    expect(wrapped.toString("hex").toUpperCase()).toBe(expected);
    expect(unwrapKey(key, alg, Buffer.from(expected, "hex")).toString("hex").toUpperCase()).toBe(keyData);
    expect(wrapKey(key, "CKM_AES_KEY_WRAP", Buffer.from(keyData, "hex")).toString("hex").toUpperCase()).toBe(expected);
  });

  it("CKM_AES_KEY_WRAP_PAD matches the RFC 5649 vectors", () => {
    const key = hexKey("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8");
    expect(wrapKey(key, "CKM_AES_KEY_WRAP_PAD", Buffer.from("c37b7e6492584340bed12207808941155068f738", "hex")).toString("hex")).toBe(
      "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a",
    );
    expect(wrapKey(key, "CKM_AES_KEY_WRAP_PAD", Buffer.from("466f7250617369", "hex")).toString("hex")).toBe("afbeb0f07dfbf5419200f2ccb50bb24f");
    expect(unwrapKey(key, "CKM_AES_KEY_WRAP_PAD", Buffer.from("afbeb0f07dfbf5419200f2ccb50bb24f", "hex")).toString("hex")).toBe("466f7250617369");
  });

  it("rejects tampered wrapped keys, wrong sizes and wrong key types", () => {
    const key = hexKey("000102030405060708090A0B0C0D0E0F");
    const wrapped = wrapKey(key, "A128KW", randomBytes(32));
    expectInputError(() => unwrapKey(key, "A128KW", flipBit(wrapped)), /integrity check failed/);
    expectInputError(() => unwrapKey(oct[128], "A128KW", wrapped), /integrity check failed/);
    expectInputError(() => unwrapKey(key, "A128KW", wrapped.subarray(0, 20)), /at least 24 bytes in multiples of 8; got 20/);
    expectInputError(() => wrapKey(key, "A128KW", randomBytes(15)), /at least 16 bytes in multiples of 8; got 15/);
    expectInputError(() => wrapKey(key, "A256KW", randomBytes(32)), /A256KW requires a 256-bit oct key; this key is 128-bit/);
    expectInputError(() => wrapKey(ec["P-256"], "A128KW", randomBytes(16)), /not valid for an EC P-256 key/);
    expectInputError(() => wrapKey(key, "A128GCM", randomBytes(16)), /A128GCM is not a supported key-wrap algorithm/);
  });
});
