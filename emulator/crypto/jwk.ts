/** Base key types; the caller maps Key Vault's RSA-HSM / EC-HSM / oct-HSM onto these. */
export type JwkKty = "RSA" | "EC" | "oct";

/** Key Vault's curve names (P-256K is secp256k1). */
export type EcCurveName = "P-256" | "P-384" | "P-521" | "P-256K";

/**
 * The public half of a key as Key Vault returns it in `KeyBundle.key` (wire names, base64url without padding).
 * RSA: n, e. EC: crv, x, y. oct: nothing beyond kty (a symmetric key has no public part).
 */
export interface PublicJwk {
  kty: JwkKty;
  n?: string;
  e?: string;
  crv?: EcCurveName;
  x?: string;
  y?: string;
}

/** Full key material as the emulator stores it: the public members plus the private / symmetric ones. */
export interface PrivateJwk extends PublicJwk {
  d?: string;
  p?: string;
  q?: string;
  dp?: string;
  dq?: string;
  qi?: string;
  k?: string;
}

/** Members that must never leave the emulator in a response (also the list `toPublicJwk` drops). */
export const PRIVATE_JWK_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "k"] as const;
