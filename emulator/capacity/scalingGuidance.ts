/**
 * Operations per second of ONE Managed HSM partition, from Microsoft's "Azure Managed HSM Scaling Guidance"
 * (articles/key-vault/managed-hsm/scaling-guidance.md, measured with one key, one partition). An HSM has up to
 * three load-balanced partitions.
 *
 * Where the table is silent the emulator assumes (and the README says so): import and rotate cost a create;
 * recover costs a delete; update, list, rotation-policy get/set and attestation cost a "get key information";
 * AES encrypt/decrypt cost an AES wrap/unwrap. Anything else (RBAC, admin jobs, random bytes, release) is not
 * modelled.
 */
export interface KeyShape {
  /** "RSA" | "EC" | "oct" (the base of the wire kty). */
  base: string;
  /** RSA modulus or AES key bits. */
  size?: number;
  curve?: string;
}

export interface OperationCapacity {
  /** Capacity class: operations in one class share one queue per partition. */
  name: string;
  perSecond: number;
}

const KEY_MANAGEMENT: Record<string, OperationCapacity> = {
  KeyCreate: { name: "create", perSecond: 1 },
  KeyImport: { name: "create", perSecond: 1 },
  KeyRotate: { name: "create", perSecond: 1 },
  KeyDelete: { name: "delete", perSecond: 10 },
  KeyRecover: { name: "delete", perSecond: 10 },
  KeyPurge: { name: "purge", perSecond: 10 },
  KeyBackup: { name: "backup", perSecond: 10 },
  KeyRestore: { name: "restore", perSecond: 10 },
};

const KEY_INFORMATION = new Set(["KeyGet", "KeyList", "KeyListVersions", "KeyGetDeleted", "KeyListDeleted", "KeyUpdate", "KeyRotationPolicyGet", "KeyRotationPolicySet", "KeyGetAttestation"]);

type CryptoOp = "sign" | "verify" | "encrypt" | "decrypt" | "wrap" | "unwrap";
const CRYPTO_OPS: Record<string, CryptoOp> = { KeySign: "sign", KeyVerify: "verify", KeyEncrypt: "encrypt", KeyDecrypt: "decrypt", KeyWrap: "wrap", KeyUnwrap: "unwrap" };

const RSA: Record<CryptoOp, Record<number, number>> = {
  encrypt: { 2048: 2800, 3072: 2700, 4096: 2300 },
  decrypt: { 2048: 1100, 3072: 360, 4096: 160 },
  wrap: { 2048: 2200, 3072: 1900, 4096: 1900 },
  unwrap: { 2048: 1100, 3072: 360, 4096: 160 },
  sign: { 2048: 900, 3072: 340, 4096: 150 },
  verify: { 2048: 3400, 3072: 3400, 4096: 3700 },
};
const EC: Partial<Record<CryptoOp, Record<string, number>>> = {
  sign: { "P-256": 330, "P-256K": 330, "P-384": 160, "P-521": 200 },
  verify: { "P-256": 130, "P-256K": 130, "P-384": 82, "P-521": 28 },
};
const AES: Partial<Record<CryptoOp, Record<number, number>>> = {
  wrap: { 128: 2100, 192: 2100, 256: 2100 },
  unwrap: { 128: 1800, 192: 1900, 256: 2200 },
  encrypt: { 128: 2100, 192: 2100, 256: 2100 },
  decrypt: { 128: 1800, 192: 1900, 256: 2200 },
};

/** The capacity an operation uses, or undefined when it is not modelled (or its key is unknown: the handler answers). */
export function operationCapacity(operationName: string, key: () => KeyShape | undefined): OperationCapacity | undefined {
  const management = KEY_MANAGEMENT[operationName];
  if (management !== undefined) return management;
  if (KEY_INFORMATION.has(operationName)) return { name: "get", perSecond: 1100 };
  const op = CRYPTO_OPS[operationName];
  if (op === undefined) return undefined;
  const shape = key();
  if (shape === undefined) return undefined;
  let perSecond: number | undefined;
  let label: string;
  if (shape.base === "RSA") {
    perSecond = RSA[op][shape.size ?? 0];
    label = `RSA-${shape.size ?? "?"}`;
  } else if (shape.base === "EC") {
    perSecond = EC[op]?.[shape.curve ?? ""];
    label = `EC-${shape.curve ?? "?"}`;
  } else {
    perSecond = AES[op]?.[shape.size ?? 0];
    label = `AES-${shape.size ?? "?"}`;
  }
  return perSecond === undefined ? undefined : { name: `${op}:${label}`, perSecond };
}

/** The shape of a stored key version's material (what its crypto capacity depends on). */
export function keyShapeOf(kty: string, jwk: object): KeyShape {
  const j = jwk as Record<string, unknown>;
  const base = kty.replace(/-HSM$/, "");
  if (typeof j["n"] === "string") return { base, size: Buffer.from(j["n"], "base64url").length * 8 };
  if (typeof j["k"] === "string") return { base, size: Buffer.from(j["k"], "base64url").length * 8 };
  return typeof j["crv"] === "string" ? { base, curve: j["crv"] } : { base };
}
