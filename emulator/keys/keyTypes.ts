/**
 * Which key types, sizes and curves each flavour accepts, and the kty it reports (a Managed HSM reports
 * RSA as RSA-HSM; oct-HSM exists only on Managed HSM; vaults take no symmetric keys).
 */
import { keyVaultErrors } from "../errors";
import type { InstanceKind } from "../instanceKind";

export type BaseKty = "RSA" | "EC" | "oct";

export const RSA_SIZES = [2048, 3072, 4096];
export const EC_CURVES = ["P-256", "P-384", "P-521", "P-256K"];
export const OCT_SIZES = [128, 192, 256];

export function resolveKty(kind: InstanceKind, requested: unknown, forImport = false, hsmFlag = false): { base: BaseKty; wire: string } {
  if (typeof requested !== "string") throw keyVaultErrors.badParameter("The key type (kty) is required: RSA, RSA-HSM, EC, EC-HSM or oct-HSM.");
  const base = requested.replace(/-HSM$/i, "");
  const isHsm = /-HSM$/i.test(requested);
  const baseKty: BaseKty | undefined = base === "RSA" ? "RSA" : base === "EC" ? "EC" : base === "oct" ? "oct" : undefined;
  if (baseKty === undefined) throw keyVaultErrors.badParameter(`Invalid key type '${requested}'. Supported: RSA, RSA-HSM, EC, EC-HSM${kind === "managedHsm" ? ", oct-HSM" : ""}.`);
  if (kind === "managedHsm") {
    if (baseKty === "oct" && !isHsm && !forImport) {
      throw keyVaultErrors.badParameter("Key type 'oct' (software) is not supported by Managed HSM; create an 'oct-HSM' key instead.");
    }
    return { base: baseKty, wire: `${baseKty}-HSM` };
  }
  if (baseKty === "oct") throw keyVaultErrors.badParameter(`Key type '${requested}' is not supported by a Key Vault vault; symmetric keys (oct-HSM) exist only on Managed HSM.`);
  return { base: baseKty, wire: isHsm || hsmFlag ? `${baseKty}-HSM` : baseKty };
}

export function defaultKeyOps(base: BaseKty): string[] {
  if (base === "EC") return ["sign", "verify"];
  if (base === "oct") return ["encrypt", "decrypt", "wrapKey", "unwrapKey"];
  return ["wrapKey", "decrypt", "encrypt", "unwrapKey", "sign", "verify"];
}

const ALL_OPS = ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey", "import", "export"];

export function validateKeyOps(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((op) => typeof op !== "string" || !ALL_OPS.includes(op))) {
    throw keyVaultErrors.badParameter(`key_ops must be an array of: ${ALL_OPS.join(", ")}.`);
  }
  return [...new Set(value as string[])];
}
