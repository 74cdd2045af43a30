/**
 * The EC curves Key Vault serves, with their node names and their @noble/curves implementation (which does the
 * ECDSA over a digest and the point checks; see ./ecdsa.ts for why node:crypto cannot).
 */
// @noble/curves is ESM-only; node >= 20.19 loads it through require(), which this CommonJS build emits.
import type { ECDSA } from "@noble/curves/abstract/weierstrass.js" with { "resolution-mode": "import" };
import type { EcCurveName } from "./jwk.js";

// eslint-disable-next-line @typescript-eslint/no-require-imports -- an ESM-only package, loaded synchronously by require(esm) from this CommonJS build
const nist = require("@noble/curves/nist.js") as typeof import("@noble/curves/nist.js", { with: { "resolution-mode": "import" } });
// eslint-disable-next-line @typescript-eslint/no-require-imports -- as above
const { secp256k1 } = require("@noble/curves/secp256k1.js") as typeof import("@noble/curves/secp256k1.js", { with: { "resolution-mode": "import" } });

export interface CurveParams {
  readonly name: EcCurveName;
  /** OpenSSL / node name, used for key generation and JWK import. */
  readonly nodeName: "prime256v1" | "secp384r1" | "secp521r1" | "secp256k1";
  /** `crv` as node's JWK import/export spells it (node calls P-256K "secp256k1"). */
  readonly nodeJwkCrv: "P-256" | "P-384" | "P-521" | "secp256k1";
  /** Order of the base point. */
  readonly n: bigint;
  /** Bytes of one coordinate / one of r, s in a raw signature. */
  readonly byteLength: number;
  readonly ecdsa: ECDSA;
}

function curve(name: EcCurveName, nodeName: CurveParams["nodeName"], nodeJwkCrv: CurveParams["nodeJwkCrv"], ecdsa: ECDSA): CurveParams {
  const { n } = ecdsa.Point.CURVE();
  return { name, nodeName, nodeJwkCrv, n, byteLength: ecdsa.Point.Fp.BYTES, ecdsa };
}

export const CURVES: Readonly<Record<EcCurveName, CurveParams>> = {
  "P-256": curve("P-256", "prime256v1", "P-256", nist.p256),
  "P-384": curve("P-384", "secp384r1", "P-384", nist.p384),
  "P-521": curve("P-521", "secp521r1", "P-521", nist.p521),
  "P-256K": curve("P-256K", "secp256k1", "secp256k1", secp256k1),
};

export function isEcCurveName(value: unknown): value is EcCurveName {
  return typeof value === "string" && Object.prototype.hasOwnProperty.call(CURVES, value);
}
